package dev.ambient.hbone;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ambient.identity.HboneTls;
import dev.ambient.identity.SpiffeId;
import dev.ambient.identity.TestIdentities;
import dev.ambient.net.Transport;
import dev.ambient.testing.LeakDetectionExtension;
import dev.ambient.testing.TestCa;
import io.netty.channel.Channel;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

/** {@link HboneClient#open(HboneConnectRequest, EventLoop)}: connections pooled per event loop. */
@ExtendWith(LeakDetectionExtension.class)
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class HboneClientLoopAffinityTest {
  private static final Transport TRANSPORT = Transport.defaultTransport();

  private EventLoopGroup group;
  private EventLoopGroup foreign;
  private Channel echo;
  private HboneServer server;
  private HboneClient client;
  private HboneConnectRequest request;

  @BeforeEach
  void start() {
    group = TRANSPORT.newEventLoopGroup(3, "affinity-test");
    foreign = TRANSPORT.newEventLoopGroup(1, "affinity-foreign");
    TestCa ca = TestCa.create("cluster.local");
    HboneTls serverTls = TestIdentities.tls(ca, "default", "server");
    HboneTls clientTls = TestIdentities.tls(ca, "default", "client");
    SpiffeId serverId = serverTls.certificate().identity();
    echo = TcpServers.echo(group, TRANSPORT);
    server = HboneServer.builder().transport(TRANSPORT).eventLoopGroup(group).tls(serverTls)
        .handler(req -> CompletableFuture.completedFuture(HboneDecision.accept(
            UpstreamConnector.tcp(req.authority().socketAddress().orElseThrow(), TRANSPORT, Duration.ofSeconds(5)))))
        .start();
    client = HboneClient.builder().transport(TRANSPORT).eventLoopGroup(group)
        .config(PoolConfig.defaults().withIdleTimeout(Duration.ofMillis(300))).build();
    request = HboneConnectRequest.of(clientTls, serverId, server.localAddress(), Authority.of(TcpServers.address(echo)));
  }

  @AfterEach
  void stop() {
    client.close();
    server.close();
    echo.close().syncUninterruptibly();
    foreign.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
  }

  private HboneStream open(EventLoop loop) throws Exception {
    return client.open(request, loop).get(10, TimeUnit.SECONDS);
  }

  @Test
  void streamAndItsConnection_liveOnTheRequestedLoop() throws Exception {
    for (int i = 0; i < 3; i++) {
      EventLoop loop = group.next();
      HboneStream s = open(loop);
      assertThat(s.channel().eventLoop()).isSameAs(loop);
      assertThat(s.channel().parent().eventLoop()).isSameAs(loop);
      s.channel().close();
    }
  }

  @Test
  void sameLoop_sharesOneConnection_otherLoop_getsItsOwn() throws Exception {
    EventLoop first = group.next();
    EventLoop second = group.next();
    assertThat(first).isNotSameAs(second);

    HboneStream a = open(first);
    HboneStream b = open(first);
    HboneStream c = open(second);

    assertThat(a.channel().parent()).isSameAs(b.channel().parent());
    assertThat(c.channel().parent()).isNotSameAs(a.channel().parent());
    assertThat(client.connectionCount(request.poolKey())).isEqualTo(2);
    assertThat(client.connectionCount()).isEqualTo(2);
    assertThat(server.connectionCount()).isEqualTo(2);

    a.channel().close();
    b.channel().close();
    c.channel().close();
    // Idle pools retire per loop; nothing is left behind.
    Awaitility.await().atMost(Duration.ofSeconds(5)).until(() -> client.connectionCount() == 0);
  }

  @Test
  void loopOfAnotherGroup_isIgnored_andTheStreamStillOpens() throws Exception {
    EventLoop alien = foreign.next();
    HboneStream s = open(alien);

    assertThat(s.channel().eventLoop()).isNotSameAs(alien);
    assertThat(client.connectionCount(request.poolKey())).isEqualTo(1);
    // An open without a loop uses the same loop-less pool: still one connection.
    HboneStream t = client.open(request).get(10, TimeUnit.SECONDS);
    assertThat(t.channel().parent()).isSameAs(s.channel().parent());
    s.channel().close();
    t.channel().close();
  }
}
