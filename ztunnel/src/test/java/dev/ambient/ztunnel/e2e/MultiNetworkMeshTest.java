package dev.ambient.ztunnel.e2e;

import static dev.ambient.ztunnel.e2e.InProcessMeshTest.assertThatRefused;
import static dev.ambient.ztunnel.e2e.InProcessMeshTest.roundTrip;
import static org.assertj.core.api.Assertions.assertThat;

import dev.ambient.identity.HboneTls;
import dev.ambient.identity.SpiffeId;
import dev.ambient.identity.TlsOptions;
import dev.ambient.testing.LeakDetectionExtension;
import dev.ambient.xds.ca.CaClient;
import dev.ambient.xds.ca.TokenSource;
import dev.ambient.ztunnel.proxy.EchoServer;
import dev.ambient.ztunnel.runtime.Ztunnel;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Double HBONE end to end (spec §4.7, §5.1 step 5), in process: client ztunnel on network "net-a"
 * (127.77.1.2), server ztunnel on "net-b" (127.77.2.3, echo on 8080), and an east-west gateway
 * workload of net-b (127.77.2.9, identity istio-system/eastwest) named as the server's {@code
 * network_gateway}. The gateway ({@link EastWestGateway}) terminates only the outer HBONE and relays
 * its bytes to the server ztunnel's HBONE listener, so the inner mTLS runs from the client ztunnel
 * to the server ztunnel through it.
 */
@ExtendWith(LeakDetectionExtension.class)
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class MultiNetworkMeshTest {
  static final String CLIENT_IP = "127.77.1.2";
  static final String SERVER_IP = "127.77.2.3";
  static final String GATEWAY_IP = "127.77.2.9";
  static final String VIP = "127.77.10.1";
  static final String HOST = "echo.default.svc.cluster.local";
  static final int APP_PORT = 8080;
  static final SpiffeId CLIENT_ID = SpiffeId.of("cluster.local", "default", "client");
  static final SpiffeId SERVER_ID = SpiffeId.of("cluster.local", "default", "server");
  static final SpiffeId GATEWAY_ID = SpiffeId.of("cluster.local", "istio-system", "eastwest");
  static final String SERVER_UID = "Kubernetes//Pod/default/server";

  static String mesh(int gatewayPort) {
    return """
        workloads:
        - uid: Kubernetes//Pod/default/client
          name: client
          namespace: default
          serviceAccount: client
          network: net-a
          node: node-a
          workloadIps: ["127.77.1.2"]
          protocol: HBONE
          workloadName: client
          canonicalName: client-app
        - uid: Kubernetes//Pod/default/server
          name: server
          namespace: default
          serviceAccount: server
          network: net-b
          node: node-b
          workloadIps: ["127.77.2.3"]
          protocol: HBONE
          networkGateway: {destination: "net-b/127.77.2.9", hboneMtlsPort: %d}
          services:
            "default/echo.default.svc.cluster.local": {80: 8080, 81: 8081}
          labels: {app: server}
        - uid: Kubernetes//Pod/istio-system/eastwest
          name: eastwest
          namespace: istio-system
          serviceAccount: eastwest
          network: net-b
          node: node-b
          workloadIps: ["127.77.2.9"]
          protocol: HBONE
        services:
        - name: echo
          namespace: default
          hostname: echo.default.svc.cluster.local
          vips: ["net-a/127.77.10.1", "net-b/127.77.10.1"]
          ports: {80: 8080, 81: 8081}
          subjectAltNames: ["spiffe://cluster.local/ns/default/sa/server"]
        """.formatted(gatewayPort);
  }

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
  private MeshFixture mesh;
  private EastWestGateway gateway;
  private EchoServer echo;
  private Ztunnel client;
  private Ztunnel server;

  @BeforeEach
  void setUp() throws Exception {
    mesh = new MeshFixture(dir, """
        token-client spiffe://cluster.local/ns/default/sa/client
        token-server spiffe://cluster.local/ns/default/sa/server
        token-eastwest spiffe://cluster.local/ns/istio-system/sa/eastwest
        """);
    gateway = new EastWestGateway(new InetSocketAddress(GATEWAY_IP, 0), gatewayTls(), List.of(CLIENT_ID));
    mesh.writeConfig("mesh", mesh(gateway.address().getPort()));
    echo = new EchoServer(new InetSocketAddress(SERVER_IP, APP_PORT));

    Map<String, String> serverEnv = mesh.dedicatedEnv("default", "server", "server", "token-server", "node-b");
    serverEnv.put("NETWORK", "net-b");
    // Only the gateway dials the server ztunnel's HBONE listener: an ephemeral port will do.
    server = mesh.start(serverEnv, MeshFixture.binds(SERVER_IP, 0), SERVER_ID);
    gateway.route(HOST + ":80", server.listeners().getFirst().localAddress());
    gateway.route(HOST + ":81", server.listeners().getFirst().localAddress());

    Map<String, String> clientEnv = mesh.dedicatedEnv("default", "client", "client", "token-client", "node-a");
    clientEnv.put("NETWORK", "net-a");
    client = mesh.start(clientEnv, MeshFixture.binds(CLIENT_IP, 0), CLIENT_ID);
  }

  /** The gateway's certificate from the mesh CA, as istiod would issue it to the gateway pod. */
  private HboneTls gatewayTls() throws Exception {
    try (CaClient ca = CaClient.builder()
        .address(mesh.address())
        .rootCertFile(mesh.rootCert())
        .tokenSource(new TokenSource.Literal("token-eastwest"))
        .build()) {
      return HboneTls.create(ca.fetch(GATEWAY_ID).get(10, TimeUnit.SECONDS), TlsOptions.DEFAULT);
    }
  }

  @AfterEach
  void tearDown() throws Exception {
    if (mesh != null) {
      mesh.close();
    }
    if (gateway != null) {
      gateway.close();
    }
    if (echo != null) {
      echo.close();
    }
  }

  private Socket connectVip() throws IOException {
    return Socks5.connect(LoopbackMesh.socks5(client), new InetSocketAddress(VIP, 80));
  }

  @Test
  void serviceOnAnotherNetwork_isReachedThroughTheGateway_withInnerMutualTlsEndToEnd() throws Exception {
    try (Socket s = connectVip()) {
      assertThat(roundTrip(s, "hello across networks")).isEqualTo("hello across networks");
      String big = "y".repeat(256 * 1024);
      assertThat(roundTrip(s, big)).isEqualTo(big);
    }
    assertThat(echo.accepted()).isEqualTo(1);

    // The gateway saw one outer CONNECT: the client's own identity, authority hostname:service port.
    assertThat(gateway.seen()).hasSize(1);
    EastWestGateway.Seen outer = gateway.seen().getFirst();
    assertThat(outer.peer()).isEqualTo(CLIENT_ID);
    assertThat(outer.authority()).isEqualTo(HOST + ":80");
    // x-forwarded-network travels on the inner CONNECT only, which the gateway cannot read.
    assertThat(outer.header("x-forwarded-network")).isEmpty();

    // The server ztunnel terminated the inner mTLS: it reports the client's principal, and it took
    // the request as coming through a gateway (x-forwarded-network: net-a), so the source labels
    // come from the inner request's baggage, never from the gateway workload (the TCP peer).
    Eventually.assertThat(Duration.ofSeconds(5), () -> assertThat(server.metrics().scrape(null).body())
        .containsPattern("istio_tcp_connections_opened_total\\{connection_security_policy=\"mutual_tls\""
            + "[^}]*destination_principal=\"" + SERVER_ID + "\"[^}]*reporter=\"destination\""
            + "[^}]*source_canonical_service=\"client-app\"[^}]*source_principal=\"" + CLIENT_ID
            + "\"[^}]*source_workload=\"client\"[^}]*} 1")
        .doesNotContain("source_workload=\"eastwest\""));
    // The client side reports it as an mTLS connection to the remote workload.
    Eventually.assertThat(Duration.ofSeconds(5), () -> assertThat(client.metrics().scrape(null).body())
        .containsPattern("istio_tcp_connections_opened_total\\{[^}]*destination_principal=\"" + SERVER_ID
            + "\"[^}]*reporter=\"source\"[^}]*} 1"));
  }

  @Test
  void denyPolicyAtTheServer_stillDeniesThroughTheGateway() throws Exception {
    mesh.writeConfig("policy", DENY_CLIENT);
    Eventually.assertThat(Duration.ofSeconds(10), () -> assertThat(server.state().workload(SERVER_UID)
        .orElseThrow().authorizationPolicies()).isEqualTo(List.of("default/deny-client")));
    assertThatRefused(() -> {
      try (Socket s = connectVip()) {
        s.setSoTimeout(5_000);
        String echoed = roundTrip(s, "should not arrive");
        if (echoed.length() == "should not arrive".length()) {
          throw new AssertionError("the client was not denied");
        }
        throw new IOException("closed after " + echoed.length() + " bytes");
      }
    });
    // The gateway let the outer tunnel through; the server refused the inner CONNECT.
    assertThat(gateway.seen()).extracting(EastWestGateway.Seen::peer).contains(CLIENT_ID);
    assertThat(echo.accepted()).isZero();
    Eventually.assertThat(Duration.ofSeconds(5), () -> assertThat(server.metrics().scrape(null).body())
        .containsPattern("istio_tcp_connections_closed_total\\{[^}]*reporter=\"destination\""
            + "[^}]*response_flags=\"DENY\"[^}]*source_principal=\"" + CLIENT_ID
            + "\"[^}]*source_workload=\"client\""));

    mesh.writeConfig("policy", null);
    Eventually.assertThat(Duration.ofSeconds(10), () -> assertThat(server.state().workload(SERVER_UID)
        .orElseThrow().authorizationPolicies()).isEmpty());
    try (Socket s = connectVip()) {
      assertThat(roundTrip(s, "allowed again")).isEqualTo("allowed again");
    }
  }

  /**
   * Backpressure through both tunnels: 64 MiB into a reader that takes about 16 MiB/s. Nothing on
   * the way may buffer without bound: at every moment what the application has written but the
   * reader not yet read stays below {@link #MAX_IN_FLIGHT} (socket buffers plus the inner and outer
   * HTTP/2 windows), far less than the payload, and every byte arrives.
   */
  @Test
  void slowReaderBehindTheGateway_pausesTheWriter_withBoundedBytesInFlight() throws Exception {
    long total = 64L * 1024 * 1024;
    try (SlowSink sink = new SlowSink(new InetSocketAddress(SERVER_IP, 8081));
        Socket s = Socks5.connect(LoopbackMesh.socks5(client), new InetSocketAddress(VIP, 81))) {
      s.setSoTimeout(30_000);
      OutputStream out = s.getOutputStream();
      byte[] chunk = new byte[64 * 1024];
      long written = 0;
      long maxInFlight = 0;
      long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
      while (written < total) {
        assertThat(System.nanoTime() - deadline).as("64 MiB within 60 s").isNegative();
        out.write(chunk);
        written += chunk.length;
        maxInFlight = Math.max(maxInFlight, written - sink.read());
      }
      s.shutdownOutput();
      assertThat(sink.done().get(60, TimeUnit.SECONDS)).isEqualTo(total);
      assertThat(maxInFlight).as("bytes written but not yet read, at most").isLessThan(MAX_IN_FLIGHT);
      assertThat(maxInFlight).as("the reader really was slower than the writer").isGreaterThan(1024 * 1024);
    }
  }

  /**
   * Socket buffers and the HTTP/2 windows on the way (4 MiB per stream), with margin; half the
   * payload. Measured: about 12 MiB at the peak.
   */
  static final long MAX_IN_FLIGHT = 32L * 1024 * 1024;

  /** A reader on {@code bind} that reads 16 KiB per pause at most, counting bytes until EOF. */
  static final class SlowSink implements AutoCloseable {
    private final java.net.ServerSocket server;
    private final java.util.concurrent.atomic.AtomicLong read = new java.util.concurrent.atomic.AtomicLong();
    private final java.util.concurrent.CompletableFuture<Long> done = new java.util.concurrent.CompletableFuture<>();

    private final int pauseMillis;

    SlowSink(InetSocketAddress bind) throws IOException {
      this(bind, 1);
    }

    /** @param pauseMillis sleep after each read of up to 16 KiB (0: read as fast as possible) */
    SlowSink(InetSocketAddress bind, int pauseMillis) throws IOException {
      this.pauseMillis = pauseMillis;
      server = new java.net.ServerSocket();
      server.setReceiveBufferSize(64 * 1024);
      server.bind(bind);
      Thread.ofVirtual().start(this::run);
    }

    long read() {
      return read.get();
    }

    java.util.concurrent.CompletableFuture<Long> done() {
      return done;
    }

    private void run() {
      try (Socket s = server.accept(); java.io.InputStream in = s.getInputStream()) {
        byte[] buf = new byte[16 * 1024];
        int n;
        while ((n = in.read(buf)) >= 0) {
          read.addAndGet(n);
          if (pauseMillis > 0) {
            Thread.sleep(pauseMillis);
          }
        }
        done.complete(read.get());
      } catch (IOException | InterruptedException | RuntimeException e) {
        done.completeExceptionally(e);
      }
    }

    @Override
    public void close() throws IOException {
      server.close();
    }
  }

  /**
   * Backpressure of the outer stream itself (InnerHbone): the remote ztunnel grants the inner
   * connection a 256 MiB window, so only the outer stream's writability can stop the client ztunnel
   * from reading the application. With the gateway's way to the remote ztunnel stalled, the
   * application's writes must block after a few MiB (outer window + socket buffers), not run on
   * into the client ztunnel's memory; after the stall every byte still arrives.
   */
  @Test
  void stalledGateway_blocksTheApplication_evenWithAHugeInnerWindow() throws Exception {
    Map<String, String> env = mesh.dedicatedEnv("default", "server", "server", "token-server", "node-b");
    env.put("NETWORK", "net-b");
    env.put("HTTP2_STREAM_WINDOW_SIZE", Integer.toString(256 << 20));
    env.put("HTTP2_CONNECTION_WINDOW_SIZE", Integer.toString(256 << 20));
    Ztunnel bigWindows = mesh.start(env, MeshFixture.binds(SERVER_IP, 0), SERVER_ID);
    long total = 64L * 1024 * 1024;
    try (PausableRelay relay = new PausableRelay(new InetSocketAddress(GATEWAY_IP, 0),
            bigWindows.listeners().getFirst().localAddress());
        SlowSink sink = new SlowSink(new InetSocketAddress(SERVER_IP, 8081), 0);
        Socket s = Socks5.connect(LoopbackMesh.socks5(client), new InetSocketAddress(VIP, 81))) {
      gateway.route(HOST + ":81", relay.address());
      OutputStream out = s.getOutputStream();
      byte[] chunk = new byte[64 * 1024];
      out.write(chunk); // the inner tunnel is up once these arrive
      Eventually.assertThat(Duration.ofSeconds(10), () -> assertThat(sink.read()).isEqualTo(chunk.length));

      relay.pause();
      java.util.concurrent.atomic.AtomicLong written = new java.util.concurrent.atomic.AtomicLong(chunk.length);
      Thread writer = Thread.ofVirtual().start(() -> {
        try {
          while (written.get() < total) {
            out.write(chunk);
            written.addAndGet(chunk.length);
          }
          s.shutdownOutput();
        } catch (IOException e) {
          // the test fails on the byte count below
        }
      });
      Thread.sleep(3_000);
      long whileStalled = written.get();
      Thread.sleep(1_000);
      assertThat(written.get()).as("the writer is blocked").isEqualTo(whileStalled);
      assertThat(whileStalled).as("written while the gateway was stalled").isLessThan(MAX_STALLED);

      relay.resume();
      writer.join(Duration.ofSeconds(60));
      assertThat(written.get()).isEqualTo(total);
      assertThat(sink.done().get(60, TimeUnit.SECONDS)).isEqualTo(total);
    }
  }

  /**
   * Outer window (4 MiB) and the socket buffers on both sides of the stall, with margin (measured:
   * about 10 MiB). Without outer backpressure the 256 MiB inner window would let all 64 MiB in.
   */
  static final long MAX_STALLED = 40L * 1024 * 1024;

  /** A TCP relay whose client-to-server direction can be paused (it then stops reading). */
  static final class PausableRelay implements AutoCloseable {
    private final java.net.ServerSocket server;
    private final InetSocketAddress target;
    private volatile boolean paused;
    private final List<Socket> sockets = new java.util.concurrent.CopyOnWriteArrayList<>();

    PausableRelay(InetSocketAddress bind, InetSocketAddress target) throws IOException {
      this.target = target;
      server = new java.net.ServerSocket();
      server.bind(bind);
      Thread.ofVirtual().start(this::acceptLoop);
    }

    InetSocketAddress address() {
      return (InetSocketAddress) server.getLocalSocketAddress();
    }

    void pause() {
      paused = true;
    }

    void resume() {
      paused = false;
    }

    private void acceptLoop() {
      while (!server.isClosed()) {
        try {
          Socket in = server.accept();
          Socket up = new Socket();
          up.connect(target, 2_000);
          sockets.add(in);
          sockets.add(up);
          Thread.ofVirtual().start(() -> copy(in, up, true));
          Thread.ofVirtual().start(() -> copy(up, in, false));
        } catch (IOException e) {
          return;
        }
      }
    }

    private void copy(Socket from, Socket to, boolean pausable) {
      byte[] buf = new byte[64 * 1024];
      try {
        int n;
        while (true) {
          while (pausable && paused && !from.isClosed()) {
            Thread.sleep(5);
          }
          if ((n = from.getInputStream().read(buf)) < 0) {
            break;
          }
          to.getOutputStream().write(buf, 0, n);
        }
        to.shutdownOutput();
      } catch (IOException | InterruptedException e) {
        // closed
      }
    }

    @Override
    public void close() throws IOException {
      server.close();
      for (Socket sock : sockets) {
        sock.close();
      }
    }
  }

  @Test
  void gatewayRefusingTheOuterTunnel_failsTheConnection() throws Exception {
    gateway.close();
    gateway = new EastWestGateway(new InetSocketAddress(GATEWAY_IP, 0), gatewayTls(), List.of(SERVER_ID));
    mesh.writeConfig("mesh", mesh(gateway.address().getPort()));
    gateway.route(HOST + ":80", server.listeners().getFirst().localAddress());
    Eventually.assertThat(Duration.ofSeconds(10), () -> assertThat(client.state().workload(SERVER_UID).orElseThrow()
        .networkGateway().orElseThrow().hboneMtlsPort()).isEqualTo(gateway.address().getPort()));
    assertThatRefused(() -> {
      try (Socket s = connectVip()) {
        s.setSoTimeout(5_000);
        String echoed = roundTrip(s, "x");
        throw new IOException("closed after " + echoed.length() + " bytes");
      }
    });
    assertThat(gateway.seen()).extracting(EastWestGateway.Seen::peer).containsOnly(CLIENT_ID);
    assertThat(echo.accepted()).isZero();
    assertThat(Set.copyOf(gateway.seen())).isNotEmpty();
  }
}
