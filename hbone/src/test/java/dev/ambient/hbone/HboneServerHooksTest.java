package dev.ambient.hbone;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ambient.identity.HboneTls;
import dev.ambient.identity.TestIdentities;
import dev.ambient.net.Transport;
import dev.ambient.testing.LeakDetectionExtension;
import dev.ambient.testing.TestCa;
import io.netty.channel.Channel;
import io.netty.channel.EventLoopGroup;
import io.netty.util.AttributeKey;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

/** The server's hooks for a proxy: listener options, accept notification, stop accepting. */
@ExtendWith(LeakDetectionExtension.class)
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class HboneServerHooksTest {
  private static final Transport TRANSPORT = Transport.defaultTransport();
  private static final AttributeKey<String> MARKER = AttributeKey.valueOf("hooks-test-marker");
  private static EventLoopGroup group;
  private static HboneTls serverTls;
  private static HboneTls clientTls;
  private static Channel echo;

  @BeforeAll
  static void start() {
    group = TRANSPORT.newEventLoopGroup(2, "hooks-test");
    TestCa ca = TestCa.create("cluster.local");
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
  void listenerOptionsAndAcceptHookApplyAndStopAcceptingKeepsOpenConnections() throws Exception {
    List<Channel> accepted = new CopyOnWriteArrayList<>();
    List<String> markers = new CopyOnWriteArrayList<>();
    HboneServer server = HboneServer.builder().transport(TRANSPORT).eventLoopGroup(group).tls(serverTls)
        .listenerOptions(b -> b.childAttr(MARKER, "from-listener-options"))
        .onAccept(ch -> {
          accepted.add(ch);
          markers.add(String.valueOf(ch.attr(MARKER).get()));
        })
        .handler(req -> CompletableFuture.completedFuture(HboneDecision.accept(
            UpstreamConnector.tcp(req.authority().socketAddress().orElseThrow(), TRANSPORT, Duration.ofSeconds(5)))))
        .start();
    HboneClient client = HboneClient.builder().transport(TRANSPORT).eventLoopGroup(group).build();
    try {
      List<Relay> relays = new CopyOnWriteArrayList<>();
      Channel entrance = TcpServers.tunnelEntrance(group, TRANSPORT,
          c -> client.open(HboneConnectRequest.of(clientTls, serverTls.certificate().identity(),
              server.localAddress(), Authority.of(TcpServers.address(echo)))),
          relays::add);
      try (Socket first = new Socket()) {
        first.connect(TcpServers.address(entrance), 5_000);
        first.setSoTimeout(10_000);
        roundTrip(first, "before");
        assertThat(accepted).hasSize(1);
        assertThat(markers).containsExactly("from-listener-options");

        InetSocketAddress listening = server.localAddress();
        server.stopAccepting();
        server.stopAccepting(); // idempotent
        assertThatThrownBy(() -> {
          try (Socket s = new Socket()) {
            s.connect(listening, 2_000);
          }
        }).isInstanceOf(IOException.class);

        // The pooled connection was accepted before: it carries the old stream and a new one.
        roundTrip(first, "after");
        try (Socket second = new Socket()) {
          second.connect(TcpServers.address(entrance), 5_000);
          second.setSoTimeout(10_000);
          roundTrip(second, "second");
        }
        assertThat(accepted).hasSize(1);
        assertThat(client.connectionCount()).isEqualTo(1);
      } finally {
        entrance.close().syncUninterruptibly();
      }
    } finally {
      client.close();
      server.close();
    }
  }

  @Test
  void tlsNotReadyYet_connectionWaitsAndThenHandshakes_failedTlsClosesIt() throws Exception {
    CompletableFuture<HboneTls> later = new CompletableFuture<>();
    List<CompletableFuture<HboneTls>> sources = new CopyOnWriteArrayList<>(List.of(later));
    HboneServer server = HboneServer.builder().transport(TRANSPORT).eventLoopGroup(group)
        .tlsAsync(() -> sources.isEmpty() ? CompletableFuture.failedFuture(new IllegalStateException("no cert"))
            : sources.removeFirst(), Duration.ofSeconds(10))
        .handler(req -> CompletableFuture.completedFuture(HboneDecision.accept(
            UpstreamConnector.tcp(req.authority().socketAddress().orElseThrow(), TRANSPORT, Duration.ofSeconds(5)))))
        .start();
    HboneClient client = HboneClient.builder().transport(TRANSPORT).eventLoopGroup(group).build();
    try {
      CompletableFuture<HboneStream> stream = client.open(HboneConnectRequest.of(clientTls,
          serverTls.certificate().identity(), server.localAddress(), Authority.of(TcpServers.address(echo))));
      Thread.sleep(300);
      assertThat(stream).as("no TLS yet: the handshake waits").isNotDone();
      later.complete(serverTls);
      stream.get(10, TimeUnit.SECONDS).channel().close();

      HboneClient second = HboneClient.builder().transport(TRANSPORT).eventLoopGroup(group).build();
      try {
        CompletableFuture<HboneStream> refused = second.open(HboneConnectRequest.of(clientTls,
            serverTls.certificate().identity(), server.localAddress(), Authority.of(TcpServers.address(echo))));
        assertThatThrownBy(() -> refused.get(10, TimeUnit.SECONDS)).isInstanceOf(java.util.concurrent.ExecutionException.class);
      } finally {
        second.close();
      }
    } finally {
      client.close();
      server.close();
    }
  }

  private static void roundTrip(Socket s, String text) throws IOException {
    OutputStream out = s.getOutputStream();
    InputStream in = s.getInputStream();
    byte[] bytes = text.getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    out.write(bytes);
    out.flush();
    assertThat(in.readNBytes(bytes.length)).isEqualTo(bytes);
  }
}
