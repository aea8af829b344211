package dev.ambient.ztunnel.e2e;

import static dev.ambient.ztunnel.e2e.InProcessMeshTest.assertThatRefused;
import static dev.ambient.ztunnel.e2e.InProcessMeshTest.roundTrip;
import static org.assertj.core.api.Assertions.assertThat;

import dev.ambient.identity.SpiffeId;
import dev.ambient.testing.LeakDetectionExtension;
import dev.ambient.ztunnel.proxy.ProxyListener;
import dev.ambient.ztunnel.runtime.Ztunnel;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * ztunnel's own inbound HBONE listener in shared mode (spec §7.6), in process: a shared-mode
 * ztunnel "ztunnel-z" (POD_NAMESPACE/POD_NAME/SERVICE_ACCOUNT set, no node agent) on 127.77.3.5
 * and a dedicated-mode client ztunnel on 127.77.3.2. The client reaches ports of the shared ztunnel
 * (its metrics endpoint, a local server) over HBONE through the self listener, which presents
 * ztunnel's own certificate, applies RBAC, never spoofs the source, and drains with the process.
 */
@ExtendWith(LeakDetectionExtension.class)
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class SelfInboundMeshTest {
  static final String CLIENT_IP = "127.77.3.2";
  static final String ZTUNNEL_IP = "127.77.3.5";
  static final String CLIENT_PRINCIPAL = "spiffe://cluster.local/ns/default/sa/client";
  static final SpiffeId ZTUNNEL_ID = SpiffeId.of("cluster.local", "istio-system", "ztunnel");

  static final String MESH = """
      workloads:
      - uid: Kubernetes//Pod/default/client
        name: client
        namespace: default
        serviceAccount: client
        node: node-a
        workloadIps: ["127.77.3.2"]
        protocol: HBONE
      - uid: Kubernetes//Pod/istio-system/ztunnel-z
        name: ztunnel-z
        namespace: istio-system
        serviceAccount: ztunnel
        node: node-z
        workloadIps: ["127.77.3.5"]
        protocol: HBONE
        labels: {app: ztunnel}
      """;
  static final String DENY_CLIENT = """
      apiVersion: security.istio.io/v1
      kind: AuthorizationPolicy
      metadata: {name: deny-client, namespace: istio-system}
      spec:
        selector: {matchLabels: {app: ztunnel}}
        action: DENY
        rules: [{from: [{source: {principals: ["cluster.local/ns/default/sa/client"]}}]}]
      """;

  @TempDir Path dir;
  private MeshFixture mesh;
  private PeerRecorder local;

  @BeforeEach
  void setUp() throws Exception {
    mesh = new MeshFixture(dir, """
        token-client spiffe://cluster.local/ns/default/sa/client
        token-ztunnel spiffe://cluster.local/ns/istio-system/sa/ztunnel node-proxy
        """);
    mesh.writeConfig("mesh", MESH);
    local = new PeerRecorder(new InetSocketAddress(ZTUNNEL_IP, 0));
  }

  @AfterEach
  void tearDown() throws Exception {
    mesh.close();
    local.close();
  }

  private Ztunnel startShared(Map<String, String> extra) throws Exception {
    Map<String, String> env = mesh.baseEnv("token-ztunnel", "node-z");
    env.put("PROXY_MODE", "shared");
    env.put("INPOD_UDS", dir.resolve("no-agent.sock").toString()); // no node agent: the ZDS client keeps retrying
    env.put("POD_NAME", "ztunnel-z");
    env.put("POD_NAMESPACE", "istio-system");
    env.put("SERVICE_ACCOUNT", "ztunnel");
    env.putAll(extra);
    return mesh.start(env, MeshFixture.binds(ZTUNNEL_IP, 15008), ZTUNNEL_ID);
  }

  private Ztunnel startClient() throws Exception {
    return mesh.start(mesh.dedicatedEnv("default", "client", "client", "token-client", "node-a"),
        MeshFixture.binds(CLIENT_IP, 15008), SpiffeId.parse(CLIENT_PRINCIPAL));
  }

  @Test
  void sharedMode_servesItsOwnPortsOverHbone_asItsOwnIdentity() throws Exception {
    Ztunnel z = startShared(Map.of());
    Ztunnel a = startClient();
    List<ProxyListener> listeners = z.listeners();
    assertThat(listeners).hasSize(1);
    assertThat(listeners.getFirst().localAddress()).isEqualTo(new InetSocketAddress(ZTUNNEL_IP, 15008));

    // The metrics endpoint of the shared ztunnel, through its own 15008.
    int metricsPort = z.metricsAddress().orElseThrow().getPort();
    try (Socket s = connect(a, ZTUNNEL_IP, metricsPort)) {
      s.getOutputStream().write("GET /metrics HTTP/1.0\r\nHost: ztunnel\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
      String reply = new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertThat(reply).startsWith("HTTP/1.").contains(" 200 ").contains("istio_build");
    }
    // The peer certificate is ztunnel's own identity.
    var presented = TlsProbe.serverCertificate(new InetSocketAddress(ZTUNNEL_IP, 15008),
        a.secrets().fetchCertificate(SpiffeId.parse(CLIENT_PRINCIPAL)).get(5, TimeUnit.SECONDS));
    assertThat(presented.getSubjectAlternativeNames().toString()).contains(ZTUNNEL_ID.toString());
    // It counted as an inbound mTLS connection to ztunnel's workload, from the client's principal.
    Eventually.assertThat(Duration.ofSeconds(5), () -> assertThat(z.metrics().scrape(null).body())
        .containsPattern("istio_tcp_connections_opened_total\\{connection_security_policy=\"mutual_tls\""
            + "[^}]*destination_principal=\"" + ZTUNNEL_ID + "\"[^}]*reporter=\"destination\""
            + "[^}]*source_principal=\"" + CLIENT_PRINCIPAL + "\"[^}]*} 1"));
  }

  @Test
  @Tag("netns") // needs root: IP_TRANSPARENT, so that both ztunnels can spoof
  void selfListener_neverSpoofsTheClientAddress_evenWhereTheListenersCould() throws Exception {
    Process id = new ProcessBuilder("id", "-u").start();
    assertThat(new String(id.getInputStream().readAllBytes()).strip()).as("needs root").isEqualTo("0");
    // Shared mode defaults to spoofing where IP_TRANSPARENT works; the self listener must not. The
    // client ztunnel keeps the application's address (ENABLE_ORIG_SRC=true), so its HBONE
    // connection comes from 127.77.3.2, the address a spoofing inbound would bind to.
    Ztunnel z = startShared(Map.of());
    Map<String, String> env = mesh.dedicatedEnv("default", "client", "client", "token-client", "node-a");
    env.put("ENABLE_ORIG_SRC", "true");
    Ztunnel a = mesh.start(env, MeshFixture.binds(CLIENT_IP, 15008), SpiffeId.parse(CLIENT_PRINCIPAL));
    try (Socket s = Socks5.connect(LoopbackMesh.socks5(a), new InetSocketAddress(ZTUNNEL_IP, local.port()),
        new InetSocketAddress(CLIENT_IP, 0))) {
      assertThat(roundTrip(s, "to ztunnel itself")).isEqualTo("to ztunnel itself");
    }
    assertThat(local.peers()).hasSize(1);
    assertThat(local.peers().getFirst()).isNotEqualTo(InetAddress.getByName(CLIENT_IP));
    Eventually.assertThat(Duration.ofSeconds(5), () -> assertThat(z.metrics().scrape(null).body())
        .containsPattern("istio_tcp_connections_opened_total\\{[^}]*reporter=\"destination\"[^}]*"
            + "source_principal=\"" + CLIENT_PRINCIPAL + "\"[^}]*} 1"));
  }

  @Test
  void rbac_appliesToTheSelfListener() throws Exception {
    Ztunnel z = startShared(Map.of());
    Ztunnel a = startClient();
    mesh.writeConfig("policy", DENY_CLIENT);
    Eventually.assertThat(Duration.ofSeconds(10), () -> assertThat(z.state()
        .workload("Kubernetes//Pod/istio-system/ztunnel-z").orElseThrow().authorizationPolicies())
        .containsExactly("istio-system/deny-client"));
    Eventually.assertThat(Duration.ofSeconds(5), () -> assertThatRefused(() -> {
      try (Socket s = connect(a, ZTUNNEL_IP, local.port())) {
        String echoed = roundTrip(s, "denied");
        if (echoed.length() == "denied".length()) {
          throw new AssertionError("the client was not denied");
        }
        throw new IOException("closed after " + echoed.length() + " bytes");
      }
    }));
    assertThat(local.peers()).isEmpty();

    mesh.writeConfig("policy", null);
    Eventually.assertThat(Duration.ofSeconds(10), () -> {
      try (Socket s = connect(a, ZTUNNEL_IP, local.port())) {
        assertThat(roundTrip(s, "allowed again")).isEqualTo("allowed again");
      }
    });
  }

  @Test
  void drain_closesTheSelfListener() throws Exception {
    Ztunnel z = startShared(Map.of());
    Ztunnel a = startClient();
    try (Socket s = connect(a, ZTUNNEL_IP, local.port())) {
      assertThat(roundTrip(s, "before drain")).isEqualTo("before drain");
    }
    z.drain(Duration.ofSeconds(1)).get(10, TimeUnit.SECONDS);
    assertThatRefused(() -> {
      try (Socket raw = new Socket()) {
        raw.connect(new InetSocketAddress(ZTUNNEL_IP, 15008), 1_000);
      }
    });
  }

  @Test
  void withoutPodIdentity_sharedModeRunsNoSelfListener() throws Exception {
    Map<String, String> env = mesh.baseEnv("token-ztunnel", "node-z");
    env.put("PROXY_MODE", "shared");
    env.put("INPOD_UDS", dir.resolve("no-agent.sock").toString());
    Ztunnel z = Ztunnel.start(dev.ambient.ztunnel.ZtunnelConfig.fromEnvironment(env), env,
        MeshFixture.binds(ZTUNNEL_IP, 15008));
    try {
      z.started().get(20, TimeUnit.SECONDS);
      assertThat(z.listeners()).isEmpty();
    } finally {
      z.close();
      z.terminated().get(10, TimeUnit.SECONDS);
    }
  }

  static Socket connect(Ztunnel a, String ip, int port) throws IOException {
    return Socks5.connect(LoopbackMesh.socks5(a), new InetSocketAddress(ip, port));
  }

  /** An echo server recording the source address of every accepted connection. */
  static final class PeerRecorder implements AutoCloseable {
    private final ServerSocket server;
    private final List<InetAddress> peers = new CopyOnWriteArrayList<>();
    private final Thread acceptor;

    PeerRecorder(InetSocketAddress bind) throws IOException {
      server = new ServerSocket();
      server.bind(bind);
      acceptor = Thread.ofVirtual().start(this::acceptLoop);
    }

    int port() {
      return server.getLocalPort();
    }

    List<InetAddress> peers() {
      return List.copyOf(peers);
    }

    private void acceptLoop() {
      while (!server.isClosed()) {
        try {
          Socket s = server.accept();
          peers.add(s.getInetAddress());
          Thread.ofVirtual().start(() -> echo(s));
        } catch (IOException e) {
          return;
        }
      }
    }

    private static void echo(Socket s) {
      try (s; InputStream in = s.getInputStream(); OutputStream out = s.getOutputStream()) {
        in.transferTo(out);
      } catch (IOException ignored) {
        // the peer went away
      }
    }

    @Override
    public void close() throws Exception {
      server.close();
      acceptor.join(2_000);
    }
  }
}
