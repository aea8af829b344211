package dev.ambient.ztunnel.e2e;

import static dev.ambient.ztunnel.e2e.LoopbackMesh.APP_PORT;
import static dev.ambient.ztunnel.e2e.LoopbackMesh.CLIENT_IP;
import static dev.ambient.ztunnel.e2e.LoopbackMesh.CLIENT_PRINCIPAL;
import static dev.ambient.ztunnel.e2e.LoopbackMesh.SERVER_IP;
import static dev.ambient.ztunnel.e2e.LoopbackMesh.SERVER_WORKLOAD_UID;
import static dev.ambient.ztunnel.e2e.LoopbackMesh.TCP_IP;
import static dev.ambient.ztunnel.e2e.LoopbackMesh.UNKNOWN_IP;
import static dev.ambient.ztunnel.e2e.LoopbackMesh.VIP;
import static org.assertj.core.api.Assertions.assertThat;

import dev.ambient.identity.SpiffeId;
import dev.ambient.testing.LeakDetectionExtension;
import dev.ambient.xds.ca.SecretManager;
import dev.ambient.ztunnel.runtime.Ztunnel;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.math.BigInteger;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two ztunnels and the embedded control plane in this JVM, over loopback (see {@link LoopbackMesh}):
 * the application connects through ztunnel A's SOCKS5 listener, as an application captured by
 * 15001 would, and everything after that is the real process wiring (xDS, CA, HBONE, authz).
 */
@ExtendWith(LeakDetectionExtension.class)
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class InProcessMeshTest {
  static final String ALLOW_ONLY_OTHER = """
      apiVersion: security.istio.io/v1
      kind: AuthorizationPolicy
      metadata: {name: allow-other, namespace: default}
      spec:
        selector: {matchLabels: {app: server}}
        rules: [{from: [{source: {principals: ["cluster.local/ns/default/sa/other"]}}]}]
      """;
  static final String ALLOW_CLIENT = """
      apiVersion: security.istio.io/v1
      kind: AuthorizationPolicy
      metadata: {name: allow-client, namespace: default}
      spec:
        selector: {matchLabels: {app: server}}
        rules: [{from: [{source: {principals: ["cluster.local/ns/default/sa/client"]}}]}]
      """;
  static final String DENY_CLIENT = """
      apiVersion: security.istio.io/v1
      kind: AuthorizationPolicy
      metadata: {name: deny-client, namespace: default}
      spec:
        selector: {matchLabels: {app: server}}
        action: DENY
        rules: [{from: [{source: {principals: ["cluster.local/ns/default/sa/client"]}}]}]
      """;

  @TempDir Path dir;
  private LoopbackMesh mesh;

  @BeforeEach
  void setUp() throws Exception {
    mesh = LoopbackMesh.create(dir);
  }

  @AfterEach
  void tearDown() throws Exception {
    mesh.close();
  }

  @Test
  void vipToHboneWorkload_goesThroughBothZtunnels_withMutualTls() throws Exception {
    Ztunnel a = mesh.startClient(Map.of());
    Ztunnel b = mesh.startServer(Map.of());
    try (Socket s = connect(a, VIP, 80)) {
      assertThat(roundTrip(s, "hello via vip")).isEqualTo("hello via vip");
    }
    assertThat(mesh.serverEcho.accepted()).isEqualTo(1);
    Eventually.assertThat(Duration.ofSeconds(5), () -> assertThat(b.metrics().scrape(null).body())
        .containsPattern("istio_tcp_connections_opened_total\\{connection_security_policy=\"mutual_tls\""
            + "[^}]*reporter=\"destination\"[^}]*source_principal=\"" + CLIENT_PRINCIPAL + "\"[^}]*} 1"));
  }

  @Test
  void directToHboneWorkloadIp_isTunnelled() throws Exception {
    Ztunnel a = mesh.startClient(Map.of());
    Ztunnel b = mesh.startServer(Map.of());
    try (Socket s = connect(a, SERVER_IP, APP_PORT)) {
      assertThat(roundTrip(s, "direct")).isEqualTo("direct");
    }
    Eventually.assertThat(Duration.ofSeconds(5), () -> assertThat(b.metrics().scrape(null).body())
        .containsPattern("istio_tcp_connections_opened_total\\{connection_security_policy=\"mutual_tls\""
            + "[^}]*reporter=\"destination\""));
  }

  @Test
  void tcpWorkload_andUnknownHost_areReachedInPlaintext_withoutTheServerZtunnel() throws Exception {
    Ztunnel a = mesh.startClient(Map.of());
    Ztunnel b = mesh.startServer(Map.of());
    try (Socket s = connect(a, TCP_IP, APP_PORT)) {
      assertThat(roundTrip(s, "to legacy")).isEqualTo("to legacy");
    }
    try (Socket s = connect(a, UNKNOWN_IP, APP_PORT)) {
      assertThat(roundTrip(s, "passthrough")).isEqualTo("passthrough");
    }
    assertThat(mesh.tcpEcho.accepted()).isEqualTo(1);
    assertThat(mesh.unknownEcho.accepted()).isEqualTo(1);
    assertThat(b.metrics().scrape(null).body()).doesNotContain("istio_tcp_connections_opened_total{");
  }

  @Test
  void allowPolicy_admitsTheNamedPrincipal_andRefusesOthers() throws Exception {
    Ztunnel a = mesh.startClient(Map.of());
    Ztunnel b = mesh.startServer(Map.of());
    mesh.writeConfig("policy", ALLOW_ONLY_OTHER);
    awaitPolicies(b, Set.of("default/allow-other"));
    Eventually.assertThat(Duration.ofSeconds(5), () -> assertRefused(a, VIP, 80));
    int before = mesh.serverEcho.accepted();

    mesh.writeConfig("policy", ALLOW_CLIENT);
    awaitPolicies(b, Set.of("default/allow-client"));
    Eventually.assertThat(Duration.ofSeconds(5), () -> {
      try (Socket s = connect(a, VIP, 80)) {
        assertThat(roundTrip(s, "allowed")).isEqualTo("allowed");
      }
    });
    assertThat(mesh.serverEcho.accepted()).isGreaterThan(before);
  }

  @Test
  void denyPolicy_refusesNewConnections_andClosesAnOpenOne() throws Exception {
    Ztunnel a = mesh.startClient(Map.of());
    Ztunnel b = mesh.startServer(Map.of());
    try (Socket open = connect(a, VIP, 80)) {
      assertThat(roundTrip(open, "before deny")).isEqualTo("before deny");

      mesh.writeConfig("policy", DENY_CLIENT);
      awaitPolicies(b, Set.of("default/deny-client"));
      open.setSoTimeout(5_000);
      assertClosed(open);
      assertRefused(a, VIP, 80);

      mesh.writeConfig("policy", null);
      awaitPolicies(b, Set.of());
      Eventually.assertThat(Duration.ofSeconds(5), () -> {
        try (Socket s = connect(a, VIP, 80)) {
          assertThat(roundTrip(s, "allowed again")).isEqualTo("allowed again");
        }
      });
    }
  }

  @Test
  void certificateRotation_underTraffic_dropsNoConnection() throws Exception {
    // Certificates start CLOCK_SKEW_ALLOWANCE (60 s) before issue and refresh half way through
    // the window: a 64 s TTL rotates every ~2 s (see the report on short TTLs).
    Map<String, String> ttl = Map.of("SECRET_TTL", "64s");
    Ztunnel a = mesh.startClient(ttl);
    Ztunnel b = mesh.startServer(ttl);
    SpiffeId client = SpiffeId.parse(CLIENT_PRINCIPAL);
    SpiffeId server = SpiffeId.parse("spiffe://cluster.local/ns/default/sa/server");
    Set<BigInteger> clientSerials = new LinkedHashSet<>();
    Set<BigInteger> serverSerials = new LinkedHashSet<>();
    try (Socket s = connect(a, VIP, 80)) {
      long end = System.nanoTime() + Duration.ofSeconds(20).toNanos();
      int i = 0;
      while ((clientSerials.size() < 3 || serverSerials.size() < 3) && System.nanoTime() < end) {
        String msg = "chunk-" + i++ + "-" + "x".repeat(512);
        assertThat(roundTrip(s, msg)).isEqualTo(msg);
        serial(a, client).ifPresent(clientSerials::add);
        serial(b, server).ifPresent(serverSerials::add);
        Thread.sleep(20);
      }
      // Two rotations on each side while one connection kept streaming.
      assertThat(clientSerials).hasSizeGreaterThanOrEqualTo(3);
      assertThat(serverSerials).hasSizeGreaterThanOrEqualTo(3);
      assertThat(roundTrip(s, "still open")).isEqualTo("still open");
    }
    // A new connection after the rotations still works, and B now presents its current certificate.
    try (Socket s = connect(a, VIP, 80)) {
      assertThat(roundTrip(s, "after rotation")).isEqualTo("after rotation");
    }
    BigInteger presented = TlsProbe.serverCertificate(new InetSocketAddress(SERVER_IP, 15008),
        a.secrets().fetchCertificate(client).get(5, TimeUnit.SECONDS)).getSerialNumber();
    assertThat(presented).isNotEqualTo(serverSerials.iterator().next()).isEqualTo(serial(b, server).orElseThrow());
  }

  @Test
  void drain_letsALongLivedConnectionFlow_refusesNewOnes_andClosesItAtTheDeadline() throws Exception {
    Ztunnel a = mesh.startClient(Map.of());
    mesh.startServer(Map.of());
    InetSocketAddress socks = LoopbackMesh.socks5(a);
    try (Socket s = connect(a, VIP, 80)) {
      assertThat(roundTrip(s, "before drain")).isEqualTo("before drain");
      long start = System.nanoTime();
      CompletableFuture<Void> terminated = a.drain(Duration.ofSeconds(3));
      for (int i = 0; i < 10; i++) {
        assertThat(roundTrip(s, "during drain " + i)).isEqualTo("during drain " + i);
        Thread.sleep(100);
      }
      assertThat(terminated).isNotDone();
      assertThatRefused(() -> Socks5.connect(socks, new InetSocketAddress(VIP, 80)));
      s.setSoTimeout(8_000);
      assertClosed(s);
      terminated.get(8, TimeUnit.SECONDS);
      assertThat(Duration.ofNanos(System.nanoTime() - start)).isGreaterThanOrEqualTo(Duration.ofMillis(2_500));
    }
  }

  @Test
  void drain_finishesEarly_whenTheLastConnectionEnds() throws Exception {
    Ztunnel a = mesh.startClient(Map.of());
    mesh.startServer(Map.of());
    Socket s = connect(a, VIP, 80);
    assertThat(roundTrip(s, "x")).isEqualTo("x");
    long start = System.nanoTime();
    CompletableFuture<Void> terminated = a.drain(Duration.ofSeconds(30));
    Thread.sleep(300);
    assertThat(terminated).isNotDone();
    s.close();
    terminated.get(10, TimeUnit.SECONDS);
    assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(10));
  }

  private static java.util.Optional<BigInteger> serial(Ztunnel z, SpiffeId id) {
    return z.secrets().states().get(id) instanceof SecretManager.Available av
        ? java.util.Optional.of(av.certificate().leaf().getSerialNumber())
        : java.util.Optional.empty();
  }

  private static void awaitPolicies(Ztunnel z, Set<String> names) throws Exception {
    Eventually.assertThat(Duration.ofSeconds(10), () -> assertThat(z.state().workload(SERVER_WORKLOAD_UID)
        .orElseThrow().authorizationPolicies()).containsExactlyInAnyOrderElementsOf(names));
  }

  /** A SOCKS5 connection from the client workload's address through ztunnel A. */
  static Socket connect(Ztunnel a, String ip, int port) throws IOException {
    return Socks5.connect(LoopbackMesh.socks5(a), new InetSocketAddress(ip, port));
  }

  static String roundTrip(Socket s, String text) throws IOException {
    OutputStream out = s.getOutputStream();
    InputStream in = s.getInputStream();
    byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
    out.write(bytes);
    out.flush();
    return new String(in.readNBytes(bytes.length), StandardCharsets.UTF_8);
  }

  /** The connection is refused: the SOCKS5 reply is an error, or the stream ends before any echo. */
  static void assertRefused(Ztunnel a, String ip, int port) {
    assertThatRefused(() -> {
      try (Socket s = connect(a, ip, port)) {
        s.setSoTimeout(5_000);
        String echoed = roundTrip(s, "should not arrive");
        if (echoed.length() == "should not arrive".length()) {
          throw new AssertionError("connection to " + ip + ":" + port + " was not refused");
        }
        throw new IOException("closed after " + echoed.length() + " bytes");
      }
    });
  }

  @FunctionalInterface
  interface IoAction {
    void run() throws IOException;
  }

  static void assertThatRefused(IoAction action) {
    try {
      action.run();
      throw new AssertionError("expected the connection to be refused");
    } catch (SocketTimeoutException e) {
      throw new AssertionError("expected a refusal, got a timeout", e);
    } catch (IOException expected) {
      // refused
    }
  }

  /** The peer closes {@code s} (EOF or reset) before its read timeout. */
  static void assertClosed(Socket s) throws IOException {
    try {
      int r;
      while ((r = s.getInputStream().read()) >= 0) {
        assertThat(r).isGreaterThanOrEqualTo(0);
      }
    } catch (SocketTimeoutException e) {
      throw new AssertionError("the connection was not closed", e);
    } catch (IOException reset) {
      // closed by a reset
    }
  }
}
