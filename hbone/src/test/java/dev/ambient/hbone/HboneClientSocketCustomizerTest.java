package dev.ambient.hbone;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ambient.identity.HboneTls;
import dev.ambient.identity.SpiffeId;
import dev.ambient.identity.TestIdentities;
import dev.ambient.net.Transport;
import dev.ambient.testing.LeakDetectionExtension;
import dev.ambient.testing.TestCa;
import io.netty.channel.Channel;
import io.netty.channel.EventLoopGroup;
import io.netty.util.AttributeKey;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

/** The client's socket customizer runs once per new pooled connection and keeps the client's handler. */
@ExtendWith(LeakDetectionExtension.class)
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class HboneClientSocketCustomizerTest {
  private static final Transport TRANSPORT = Transport.defaultTransport();
  private static final AttributeKey<String> TAG = AttributeKey.valueOf("customizer-test-tag");
  private static EventLoopGroup group;
  private static TestCa ca;
  private static HboneTls serverTls;
  private static HboneTls clientTls;
  private static Channel echo;

  @BeforeAll
  static void start() {
    group = TRANSPORT.newEventLoopGroup(2, "customizer-test");
    ca = TestCa.create("cluster.local");
    serverTls = TestIdentities.tls(ca, "default", "server");
    clientTls = TestIdentities.tls(ca, "default", "client");
    echo = TcpServers.echo(group, TRANSPORT);
  }

  @AfterAll
  static void stop() {
    echo.close().syncUninterruptibly();
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
  }

  @Test
  void customizer_appliedOncePerPooledConnection_andTunnelStillWorks() throws Exception {
    AtomicInteger calls = new AtomicInteger();
    try (HboneServer server = HboneServer.builder().transport(TRANSPORT).eventLoopGroup(group).tls(serverTls)
            .handler(req -> CompletableFuture.completedFuture(HboneDecision.accept(
                UpstreamConnector.tcp(req.authority().socketAddress().orElseThrow(), TRANSPORT, Duration.ofSeconds(5)))))
            .start();
        HboneClient client = HboneClient.builder().transport(TRANSPORT).eventLoopGroup(group)
            .socketCustomizer(b -> {
              calls.incrementAndGet();
              b.attr(TAG, "customized");
            })
            .build()) {
      SpiffeId serverId = serverTls.certificate().identity();
      HboneConnectRequest req = HboneConnectRequest.of(clientTls, serverId, server.localAddress(),
          Authority.of(TcpServers.address(echo)));

      HboneStream first = client.open(req).get(10, TimeUnit.SECONDS);
      HboneStream second = client.open(req).get(10, TimeUnit.SECONDS);
      assertThat(calls).as("two streams on one pooled connection: one bootstrap").hasValue(1);
      assertThat(first.channel().parent().attr(TAG).get()).isEqualTo("customized");

      // Another pool key (other expected identities) is another connection: customized again.
      HboneStream third = client.open(new HboneConnectRequest(clientTls, List.of(serverId,
          TestIdentities.id(ca, "default", "other")), server.localAddress(), null,
          Authority.of(TcpServers.address(echo)), java.util.Map.of())).get(10, TimeUnit.SECONDS);
      assertThat(calls).hasValue(2);
      assertThat(third.channel().parent().attr(TAG).get()).isEqualTo("customized");
      for (HboneStream s : List.of(first, second, third)) {
        s.channel().close().syncUninterruptibly();
      }
    }
  }
}
