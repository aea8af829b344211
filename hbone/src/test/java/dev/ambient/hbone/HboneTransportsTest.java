package dev.ambient.hbone;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ambient.identity.HboneTls;
import dev.ambient.identity.TestIdentities;
import dev.ambient.net.Transport;
import dev.ambient.testing.LeakDetectionExtension;
import dev.ambient.testing.TestCa;
import io.netty.channel.Channel;
import io.netty.channel.EventLoopGroup;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** The same tunnel on every transport available here (io_uring, epoll, NIO), as Netty's socket permutations do. */
@ExtendWith(LeakDetectionExtension.class)
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class HboneTransportsTest {
  static Stream<Transport> available() {
    return Arrays.stream(Transport.values()).filter(Transport::isAvailable);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("available")
  void tunnel_carriesBytesBothWays(Transport transport) throws Exception {
    EventLoopGroup group = transport.newEventLoopGroup(2, "transport-" + transport.label());
    TestCa ca = TestCa.create("cluster.local");
    HboneTls serverTls = TestIdentities.tls(ca, "default", "server");
    HboneTls clientTls = TestIdentities.tls(ca, "default", "client");
    Channel echo = TcpServers.echo(group, transport);
    try (HboneServer server = HboneServer.builder().transport(transport).eventLoopGroup(group).tls(serverTls)
            .handler(r -> CompletableFuture.completedFuture(HboneDecision.accept(
                UpstreamConnector.tcp(r.authority().socketAddress().orElseThrow(), transport, Duration.ofSeconds(5)))))
            .start();
        HboneClient client = HboneClient.builder().transport(transport).eventLoopGroup(group).build()) {
      Channel entrance = TcpServers.tunnelEntrance(group, transport, c -> client.open(HboneConnectRequest.of(
          clientTls, serverTls.certificate().identity(), server.localAddress(), Authority.of(TcpServers.address(echo)))),
          r -> {});
      InetSocketAddress at = TcpServers.address(entrance);
      byte[] data = new byte[5 * 1024 * 1024];
      ThreadLocalRandom.current().nextBytes(data);
      try (Socket app = new Socket(at.getAddress(), at.getPort())) {
        CompletableFuture<byte[]> back = CompletableFuture.supplyAsync(() -> {
          try {
            return app.getInputStream().readAllBytes();
          } catch (java.io.IOException e) {
            throw new RuntimeException(e);
          }
        });
        app.getOutputStream().write(data);
        app.shutdownOutput();
        byte[] got = back.get(30, TimeUnit.SECONDS);
        assertThat(got.length).as("bytes echoed").isEqualTo(data.length);
        assertThat(Arrays.mismatch(got, data)).as("first differing byte").isEqualTo(-1);
      } finally {
        entrance.close().sync();
      }
    } finally {
      echo.close().sync();
      group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
    }
  }
}
