package dev.ambient.hbone;

import static java.nio.charset.StandardCharsets.UTF_8;
import static java.util.concurrent.TimeUnit.SECONDS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import dev.ambient.identity.HboneTls;
import dev.ambient.identity.SpiffeId;
import dev.ambient.identity.TlsOptions;
import dev.ambient.identity.TrustBundle;
import dev.ambient.identity.WorkloadCertificate;
import dev.ambient.net.Transport;
import dev.ambient.testing.IssuedCertificate;
import dev.ambient.testing.LeakDetectionExtension;
import dev.ambient.testing.TestCa;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Interoperability with an independent HBONE implementation: Node.js's built-in {@code http2} and
 * {@code tls} modules ({@code src/test/node/hbone-client.js}, {@code hbone-server.js}), in both
 * directions, with the same certificate checks (spec §4.3, §4.5). Needs {@code node} (Node.js 18+)
 * on the PATH, or {@code -Dnode.binary=/path/to/node}; without it every test fails (never skips).
 */
@ExtendWith(LeakDetectionExtension.class)
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class NodeInteropTest {
  private static final String TD = "cluster.local";
  private static final String CLIENT_ID = "spiffe://" + TD + "/ns/default/sa/node-client";
  private static final String SERVER_ID = "spiffe://" + TD + "/ns/default/sa/node-server";
  private static final Duration NODE_TIMEOUT = Duration.ofSeconds(30);
  private static final int MIB = 1 << 20;

  @TempDir
  static Path certDir;

  private static String node;
  private static Path scripts;
  /** The mesh CA: an intermediate below a root, so every chain carries an intermediate. */
  private static TestCa meshCa;
  private static IssuedCertificate clientCert;
  private static IssuedCertificate serverCert;
  /** Same CA (chains verify), but the URI SAN is in another trust domain. */
  private static IssuedCertificate otherDomainSameCaCert;
  /** Another CA and trust domain altogether. */
  private static IssuedCertificate foreignCert;

  private final List<NodeProcess> processes = new CopyOnWriteArrayList<>();
  private final List<AutoCloseable> closeables = new CopyOnWriteArrayList<>();

  @BeforeAll
  static void setUp() throws Exception {
    node = findNode();
    scripts = Path.of(System.getProperty("basedir", "")).toAbsolutePath().resolve("src/test/node");
    assertThat(scripts.resolve("hbone-client.js")).as("Node interop scripts").exists();
    assertThat(scripts.resolve("hbone-server.js")).as("Node interop scripts").exists();

    meshCa = TestCa.create(TD).newIntermediate();
    clientCert = meshCa.issue(CLIENT_ID);
    serverCert = meshCa.issue(SERVER_ID);
    otherDomainSameCaCert = meshCa.issue("spiffe://other.domain/ns/default/sa/node-client");
    foreignCert = TestCa.create("other.domain").newIntermediate().issue("spiffe://other.domain/ns/default/sa/node-client");

    clientCert.writeTo(certDir.resolve("client"));
    serverCert.writeTo(certDir.resolve("server"));
    // The refused peers still trust the mesh root, so that only *their* certificate is at fault.
    writeTrusting(otherDomainSameCaCert, certDir.resolve("other-domain"), meshCa.root());
    writeTrusting(foreignCert, certDir.resolve("foreign"), meshCa.root());
  }

  @AfterEach
  void tearDown() {
    for (NodeProcess p : processes) {
      p.kill();
      System.out.println(p.describe()); // kept in the surefire -output.txt for diagnosis
    }
    for (AutoCloseable c : closeables.reversed()) {
      try {
        c.close();
      } catch (Exception e) {
        // best effort: the test's own assertions already ran
      }
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Node.js client -> HboneServer

  @Test
  void nodeClient_connectToHboneServer_echoesData() throws Exception {
    nodeClientEchoes(false);
  }

  @Test
  void nodeClient_withZtunnelHttp2Settings_echoesData() throws Exception {
    nodeClientEchoes(true);
  }

  private void nodeClientEchoes(boolean ztunnelSettings) throws Exception {
    EchoServer echo = track(EchoServer.start());
    List<HboneRequest> seen = new CopyOnWriteArrayList<>();
    HboneServer server = startServer(seen, echo.address());
    String authority = "127.0.0.1:" + echo.address().getPort();

    List<String> args = new ArrayList<>(List.of("--certs", certDir.resolve("client").toString(),
        "--connect", "127.0.0.1:" + server.localAddress().getPort(), "--authority", authority,
        "--expect-id", SERVER_ID, "--bytes", Integer.toString(MIB)));
    if (ztunnelSettings) {
      args.add("--ztunnel-settings");
    }
    NodeResult r = runNodeClient(args);

    assertThat(r.exitCode()).as(r.describe()).isZero();
    Map<String, Object> tls = r.event("tls");
    assertThat(tls).as(r.describe())
        .containsEntry("protocol", "TLSv1.3")
        .containsEntry("alpn", "h2")
        .containsEntry("peerId", SERVER_ID);
    assertThat(r.event("response")).as(r.describe()).containsEntry("status", 200L);
    Map<String, Object> result = r.event("echo");
    String expectedSha = sha256(pattern(MIB));
    assertThat(result).as(r.describe())
        .containsEntry("sent", (long) MIB)
        .containsEntry("received", (long) MIB)
        .containsEntry("sentSha256", expectedSha)
        .containsEntry("sha256", expectedSha);

    assertThat(seen).as("requests handed to the HboneHandler").hasSize(1);
    HboneRequest request = seen.getFirst();
    assertThat(request.peerIdentity()).isEqualTo(SpiffeId.parse(CLIENT_ID));
    assertThat(request.authority()).isEqualTo(Authority.parse(authority).orElseThrow());
    assertThat(request.localAddress().getPort()).isEqualTo(server.localAddress().getPort());
    assertThat(echo.bytesEchoed()).as("bytes through the upstream echo server").isEqualTo(MIB);
  }

  @Test
  void nodeClient_nonConnectMethod_gets400() throws Exception {
    List<HboneRequest> seen = new CopyOnWriteArrayList<>();
    HboneServer server = startServer(seen, new InetSocketAddress(InetAddress.getLoopbackAddress(), 9));

    NodeResult r = runNodeClient(List.of("--certs", certDir.resolve("client").toString(),
        "--connect", "127.0.0.1:" + server.localAddress().getPort(), "--authority", "127.0.0.1:9",
        "--expect-id", SERVER_ID, "--method", "GET"));

    assertThat(r.event("response")).as(r.describe()).containsEntry("status", 400L);
    assertThat(r.event("error")).as(r.describe()).containsEntry("kind", "status");
    assertThat(r.exitCode()).as(r.describe()).isEqualTo(4);
    assertThat(seen).as("the handler must not see a non-CONNECT request").isEmpty();
  }

  @Test
  void nodeClient_authorityWithoutPort_gets400() throws Exception {
    List<HboneRequest> seen = new CopyOnWriteArrayList<>();
    HboneServer server = startServer(seen, new InetSocketAddress(InetAddress.getLoopbackAddress(), 9));

    NodeResult r = runNodeClient(List.of("--certs", certDir.resolve("client").toString(),
        "--connect", "127.0.0.1:" + server.localAddress().getPort(), "--authority", "no-port",
        "--expect-id", SERVER_ID));

    assertThat(r.event("response")).as(r.describe()).containsEntry("status", 400L);
    assertThat(r.exitCode()).as(r.describe()).isEqualTo(4);
    assertThat(seen).as("the handler must not see a malformed authority").isEmpty();
  }

  @Test
  void nodeClient_certificateFromAnotherCaAndTrustDomain_isRefused() throws Exception {
    nodeClientIsRefused("foreign");
  }

  @Test
  void nodeClient_certificateFromMeshCaButAnotherTrustDomain_isRefused() throws Exception {
    nodeClientIsRefused("other-domain");
  }

  private void nodeClientIsRefused(String certs) throws Exception {
    List<HboneRequest> seen = new CopyOnWriteArrayList<>();
    HboneServer server = startServer(seen, new InetSocketAddress(InetAddress.getLoopbackAddress(), 9));

    NodeResult r = runNodeClient(List.of("--certs", certDir.resolve(certs).toString(),
        "--connect", "127.0.0.1:" + server.localAddress().getPort(), "--authority", "127.0.0.1:9",
        "--expect-id", SERVER_ID));

    assertThat(r.exitCode()).as(r.describe()).isNotZero();
    assertThat(r.events("response")).as("no HTTP response may be sent to a refused peer: " + r.describe()).isEmpty();
    // TLS 1.3: the client's side of the handshake completes before the server checked the client
    // certificate, so the refusal reaches Node as a TLS alert read after its handshake finished.
    Map<String, Object> error = r.event("error");
    assertThat(error).as(r.describe()).containsEntry("kind", "tls").containsEntry("afterHandshake", true);
    assertThat((String) error.get("code")).as(r.describe()).matches("ERR_SSL_(TLSV1|SSLV3)_ALERT_.*");
    assertThat(seen).as("the handler must not be called for a refused peer").isEmpty();
  }

  @Test
  void nodeClient_expectingAnotherServerIdentity_refusesServer() throws Exception {
    List<HboneRequest> seen = new CopyOnWriteArrayList<>();
    HboneServer server = startServer(seen, new InetSocketAddress(InetAddress.getLoopbackAddress(), 9));

    NodeResult r = runNodeClient(List.of("--certs", certDir.resolve("client").toString(),
        "--connect", "127.0.0.1:" + server.localAddress().getPort(), "--authority", "127.0.0.1:9",
        "--expect-id", "spiffe://" + TD + "/ns/default/sa/somebody-else"));

    assertThat(r.exitCode()).as(r.describe()).isEqualTo(3);
    assertThat(r.event("error")).as(r.describe())
        .containsEntry("kind", "identity")
        .containsEntry("code", "ERR_HBONE_IDENTITY_MISMATCH");
    assertThat((String) r.event("error").get("message")).contains(SERVER_ID);
    assertThat(r.events("response")).as(r.describe()).isEmpty();
    assertThat(seen).isEmpty();
  }

  @Test
  void nodeClient_acceptsAnyOfSeveralExpectedIdentities() throws Exception {
    EchoServer echo = track(EchoServer.start());
    List<HboneRequest> seen = new CopyOnWriteArrayList<>();
    HboneServer server = startServer(seen, echo.address());

    NodeResult r = runNodeClient(List.of("--certs", certDir.resolve("client").toString(),
        "--connect", "127.0.0.1:" + server.localAddress().getPort(),
        "--authority", "127.0.0.1:" + echo.address().getPort(),
        "--expect-id", "spiffe://" + TD + "/ns/default/sa/somebody-else", "--expect-id", SERVER_ID,
        "--bytes", "1"));

    assertThat(r.exitCode()).as(r.describe()).isZero();
    assertThat(r.event("echo")).containsEntry("received", 1L);
  }

  // ---------------------------------------------------------------------------------------------
  // HboneClient -> Node.js server

  @Test
  void hboneClient_connectToNodeServer_echoesData() throws Exception {
    NodeProcess nodeServer = startNodeServer("--mode", "echo");
    HboneClient client = track(HboneClient.builder().build());
    HboneConnectRequest request = HboneConnectRequest.of(tls(clientCert), SpiffeId.parse(SERVER_ID),
        nodeServer.address(), Authority.parse("198.18.0.1:8080").orElseThrow());

    HboneStream stream = client.open(request).get(20, SECONDS);
    assertThat(stream.responseHeaders().status()).hasToString("200");
    byte[] payload = pattern(MIB);
    EchoResult echo = exchangeViaRelay(stream, payload);

    assertThat(echo.bytes()).isEqualTo(payload.length);
    assertThat(echo.sha256()).isEqualTo(sha256(payload));
    assertThat(echo.relay().outcome()).as(echo.relay().toString()).isEqualTo(RelayResult.Outcome.CLEAN);
    assertThat(echo.relay().bytesFromTcp()).isEqualTo(payload.length);
    assertThat(echo.relay().bytesToTcp()).isEqualTo(payload.length);
    Map<String, Object> seen = nodeServer.awaitEvent("stream", Duration.ofSeconds(10));
    assertThat(seen).as(nodeServer.describe())
        .containsEntry("method", "CONNECT")
        .containsEntry("authority", "198.18.0.1:8080")
        .containsEntry("peerId", CLIENT_ID)
        .containsEntry("status", 200L);
    Map<String, Object> conn = nodeServer.event("connection").orElseThrow();
    assertThat(conn).as(nodeServer.describe())
        .containsEntry("protocol", "TLSv1.3")
        .containsEntry("alpn", "h2")
        .containsEntry("servername", null)
        .containsEntry("accepted", true);
    Map<String, Object> echoed = nodeServer.awaitEvent("echoed", Duration.ofSeconds(10));
    assertThat(echoed).containsEntry("bytes", (long) MIB).containsEntry("sha256", sha256(payload));
  }

  @Test
  void hboneClient_nodeServerWithZtunnelSettings_echoesData() throws Exception {
    NodeProcess nodeServer = startNodeServer("--mode", "echo", "--ztunnel-settings");
    HboneClient client = track(HboneClient.builder().build());
    HboneConnectRequest request = HboneConnectRequest.of(tls(clientCert), SpiffeId.parse(SERVER_ID),
        nodeServer.address(), Authority.parse("[2001:db8::1]:443").orElseThrow());

    HboneStream stream = client.open(request).get(20, SECONDS);
    byte[] payload = pattern(3 * MIB + 17);
    EchoResult echo = exchangeViaRelay(stream, payload);

    assertThat(echo.bytes()).isEqualTo(payload.length);
    assertThat(echo.sha256()).isEqualTo(sha256(payload));
    assertThat(nodeServer.awaitEvent("stream", Duration.ofSeconds(10))).containsEntry("authority", "[2001:db8::1]:443");
  }

  @Test
  void hboneClient_nodeServerRejects401_failsWithHttpStatus() throws Exception {
    NodeProcess nodeServer = startNodeServer("--mode", "reject-401");
    HboneClient client = track(HboneClient.builder().build());
    HboneConnectRequest request = HboneConnectRequest.of(tls(clientCert), SpiffeId.parse(SERVER_ID),
        nodeServer.address(), Authority.parse("198.18.0.1:8080").orElseThrow());

    HboneException e = failure(client.open(request));

    assertThat(e.reason()).as(e.toString()).isEqualTo(HboneException.Reason.HTTP_STATUS);
    assertThat(e.status()).isEqualTo(401);
    assertThat(nodeServer.awaitEvent("stream", Duration.ofSeconds(10))).containsEntry("status", 401L);
  }

  @Test
  void hboneClient_expectingAnotherServerIdentity_failsWithTlsFailure() throws Exception {
    NodeProcess nodeServer = startNodeServer("--mode", "echo");
    HboneClient client = track(HboneClient.builder().build());
    HboneConnectRequest request = HboneConnectRequest.of(tls(clientCert),
        SpiffeId.parse("spiffe://" + TD + "/ns/default/sa/somebody-else"),
        nodeServer.address(), Authority.parse("198.18.0.1:8080").orElseThrow());

    HboneException e = failure(client.open(request));
    System.out.println("HboneClient refusing the Node server: " + e);

    assertThat(e.reason()).as(e.toString()).isEqualTo(HboneException.Reason.TLS_FAILURE);
    assertThat(e.getMessage()).contains(SERVER_ID);
    assertThat(nodeServer.events("stream")).as(nodeServer.describe()).isEmpty();
  }

  @Test
  void hboneClient_certificateFromAnotherCaAndTrustDomain_isRefusedByNodeServer() throws Exception {
    hboneClientIsRefused(foreignCert);
  }

  @Test
  void hboneClient_certificateFromMeshCaButAnotherTrustDomain_isRefusedByNodeServer() throws Exception {
    hboneClientIsRefused(otherDomainSameCaCert);
    // the chain verified, so the Node server's trust-domain check is what refused it
  }

  private void hboneClientIsRefused(IssuedCertificate cert) throws Exception {
    NodeProcess nodeServer = startNodeServer("--mode", "echo");
    HboneClient client = track(HboneClient.builder().build());
    // The client trusts the mesh root, so its own check of the server passes.
    HboneTls tls = HboneTls.create(
        WorkloadCertificate.of(cert.privateKey(), cert.leaf(), cert.intermediates(), TrustBundle.of(meshCa.root())),
        TlsOptions.DEFAULT);
    HboneConnectRequest request = HboneConnectRequest.of(tls, SpiffeId.parse(SERVER_ID),
        nodeServer.address(), Authority.parse("198.18.0.1:8080").orElseThrow());

    HboneException e = failure(client.open(request));
    System.out.println("HboneClient refused by the Node server: " + e);

    // TLS 1.3: the server's refusal may arrive after the client considers the handshake done.
    assertThat(e.reason()).as(e + "\n" + nodeServer.describe())
        .isIn(HboneException.Reason.TLS_FAILURE, HboneException.Reason.CONNECTION_LOST);
    assertThat(nodeServer.events("stream")).as(nodeServer.describe())
        .noneMatch(s -> Long.valueOf(200).equals(s.get("status")));
  }

  // ---------------------------------------------------------------------------------------------
  // Node.js client -> Node.js server: checks the harness itself, independent of the Java code

  @Test
  void nodeScripts_clientAgainstServer_echoAndRefuseLikeTheJavaTestsExpect() throws Exception {
    NodeProcess nodeServer = startNodeServer("--mode", "echo");
    String connect = "127.0.0.1:" + nodeServer.address().getPort();

    NodeResult ok = runNodeClient(List.of("--certs", certDir.resolve("client").toString(), "--connect", connect,
        "--authority", "198.18.0.1:80", "--expect-id", SERVER_ID, "--bytes", "100000"));
    assertThat(ok.exitCode()).as(ok.describe()).isZero();
    assertThat(ok.event("echo")).containsEntry("sha256", sha256(pattern(100_000)));

    NodeResult get = runNodeClient(List.of("--certs", certDir.resolve("client").toString(), "--connect", connect,
        "--authority", "198.18.0.1:80", "--expect-id", SERVER_ID, "--method", "GET"));
    assertThat(get.event("response")).as(get.describe()).containsEntry("status", 400L);

    NodeResult wrongId = runNodeClient(List.of("--certs", certDir.resolve("client").toString(), "--connect", connect,
        "--authority", "198.18.0.1:80", "--expect-id", CLIENT_ID));
    assertThat(wrongId.exitCode()).as(wrongId.describe()).isEqualTo(3);

    NodeResult otherDomain = runNodeClient(List.of("--certs", certDir.resolve("other-domain").toString(),
        "--connect", connect, "--authority", "198.18.0.1:80", "--expect-id", SERVER_ID));
    assertThat(otherDomain.exitCode()).as(otherDomain.describe()).isNotZero();
    assertThat(otherDomain.events("response")).isEmpty();
    assertThat(nodeServer.awaitEvent("connection", Duration.ofSeconds(5))).isNotNull();
    assertThat(nodeServer.events("connection")).as(nodeServer.describe())
        .anySatisfy(c -> assertThat(c).containsEntry("accepted", false)
            .containsEntry("peerId", "spiffe://other.domain/ns/default/sa/node-client"));

    NodeResult foreign = runNodeClient(List.of("--certs", certDir.resolve("foreign").toString(),
        "--connect", connect, "--authority", "198.18.0.1:80", "--expect-id", SERVER_ID));
    assertThat(foreign.exitCode()).as(foreign.describe()).isNotZero();
    assertThat(foreign.events("response")).isEmpty();
  }

  // ---------------------------------------------------------------------------------------------
  // Java side helpers

  private HboneServer startServer(List<HboneRequest> seen, InetSocketAddress upstream) {
    HboneServer server = HboneServer.builder()
        .tls(tls(serverCert))
        .handler(request -> {
          seen.add(request);
          return CompletableFuture.completedFuture(HboneDecision.accept(
              UpstreamConnector.tcp(upstream, Transport.defaultTransport(), Duration.ofSeconds(5))));
        })
        .start();
    return track(server);
  }

  private static HboneTls tls(IssuedCertificate cert) {
    return HboneTls.create(
        WorkloadCertificate.of(cert.privateKey(), cert.leaf(), cert.intermediates(), TrustBundle.of(cert.root())),
        TlsOptions.DEFAULT);
  }

  private <T extends AutoCloseable> T track(T closeable) {
    closeables.add(closeable);
    return closeable;
  }

  /** Waits for a future that must fail, and returns its {@link HboneException}. */
  private static HboneException failure(CompletableFuture<?> future) throws Exception {
    try {
      Object value = future.get(20, SECONDS);
      if (value instanceof HboneStream s) {
        s.channel().close();
      }
      return fail("expected the tunnel to fail, but it opened: " + value);
    } catch (ExecutionException | CompletionException e) {
      Throwable cause = e.getCause();
      while ((cause instanceof CompletionException || cause instanceof ExecutionException) && cause.getCause() != null) {
        cause = cause.getCause();
      }
      if (cause instanceof HboneException he) {
        return he;
      }
      throw new AssertionError("expected an HboneException, got " + cause, cause);
    } catch (TimeoutException e) {
      throw new AssertionError("the tunnel neither opened nor failed within 20 s", e);
    }
  }

  record EchoResult(long bytes, String sha256, RelayResult relay) {}

  /**
   * Relays an open tunnel to a local TCP connection ({@link HboneStream#relay}) and plays the
   * application on the other end of that connection: writes {@code payload}, half-closes, and reads
   * until EOF, hashing what arrives.
   */
  private EchoResult exchangeViaRelay(HboneStream stream, byte[] payload) throws Exception {
    EventLoopGroup group = Transport.defaultTransport().newEventLoopGroup(1, "interop-app");
    closeables.add(() -> group.shutdownGracefully(0, 2, SECONDS).syncUninterruptibly());
    try (ServerSocket app = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      app.setSoTimeout(10_000);
      Channel tcp = new Bootstrap()
          .group(group)
          .channel(Transport.defaultTransport().socketChannel())
          .option(ChannelOption.AUTO_READ, false)
          .option(ChannelOption.ALLOW_HALF_CLOSURE, true)
          .handler(new ChannelInitializer<Channel>() {
            @Override
            protected void initChannel(Channel ch) {}
          })
          .connect(app.getLocalSocketAddress())
          .sync()
          .channel();
      try (Socket appSide = app.accept()) {
        appSide.setSoTimeout(30_000);
        Relay relay = stream.relay(tcp);
        CompletableFuture<Void> writer = CompletableFuture.runAsync(() -> {
          try {
            OutputStream out = appSide.getOutputStream();
            out.write(payload);
            out.flush();
            appSide.shutdownOutput();
          } catch (IOException e) {
            throw new UncheckedIOException(e);
          }
        });
        MessageDigest digest = newSha256();
        long count = 0;
        InputStream in = appSide.getInputStream();
        byte[] buf = new byte[64 * 1024];
        for (int n; (n = in.read(buf)) >= 0; ) {
          digest.update(buf, 0, n);
          count += n;
        }
        writer.get(10, SECONDS);
        RelayResult result = relay.completion().get(10, SECONDS);
        return new EchoResult(count, HexFormat.of().formatHex(digest.digest()), result);
      }
    }
  }

  /** A blocking TCP echo server on loopback: echoes until EOF, then half-closes. */
  static final class EchoServer implements AutoCloseable {
    private final ServerSocket socket;
    private final List<Socket> accepted = new CopyOnWriteArrayList<>();
    private final AtomicLong echoed = new AtomicLong();

    private EchoServer(ServerSocket socket) {
      this.socket = socket;
    }

    static EchoServer start() throws IOException {
      EchoServer s = new EchoServer(new ServerSocket(0, 50, InetAddress.getLoopbackAddress()));
      Thread.ofPlatform().daemon().name("echo-accept").start(s::acceptLoop);
      return s;
    }

    InetSocketAddress address() {
      return new InetSocketAddress(socket.getInetAddress(), socket.getLocalPort());
    }

    long bytesEchoed() {
      return echoed.get();
    }

    private void acceptLoop() {
      while (!socket.isClosed()) {
        try {
          Socket s = socket.accept();
          accepted.add(s);
          Thread.ofPlatform().daemon().name("echo-conn").start(() -> echo(s));
        } catch (IOException e) {
          return;
        }
      }
    }

    private void echo(Socket s) {
      try (s; InputStream in = s.getInputStream(); OutputStream out = s.getOutputStream()) {
        byte[] buf = new byte[64 * 1024];
        int n;
        while ((n = in.read(buf)) >= 0) {
          out.write(buf, 0, n);
          echoed.addAndGet(n);
        }
        out.flush();
        s.shutdownOutput();
        // Keep the socket until the peer closes too.
        while (in.read(buf) >= 0) {
          // drain
        }
      } catch (IOException e) {
        // peer went away
      }
    }

    @Override
    public void close() throws IOException {
      socket.close();
      for (Socket s : accepted) {
        s.close();
      }
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Node side helpers

  private NodeResult runNodeClient(List<String> args) throws Exception {
    List<String> cmd = new ArrayList<>(List.of(node, scripts.resolve("hbone-client.js").toString()));
    cmd.addAll(args);
    cmd.addAll(List.of("--timeout-ms", Long.toString(NODE_TIMEOUT.toMillis() - 5000)));
    NodeProcess p = NodeProcess.start(cmd);
    processes.add(p);
    p.closeStdin();
    int exit = p.awaitExit(NODE_TIMEOUT);
    NodeResult r = new NodeResult(exit, p.events(), p.stdout(), p.stderr(), cmd);
    System.out.println(r.describe()); // kept in the surefire -output.txt for diagnosis
    return r;
  }

  private NodeProcess startNodeServer(String... extra) throws Exception {
    List<String> cmd = new ArrayList<>(List.of(node, scripts.resolve("hbone-server.js").toString(),
        "--certs", certDir.resolve("server").toString(), "--host", "127.0.0.1", "--port", "0",
        "--exit-on-stdin-eof"));
    cmd.addAll(List.of(extra));
    NodeProcess p = NodeProcess.start(cmd);
    processes.add(p);
    String line = p.awaitLine(l -> l.startsWith("listening "), Duration.ofSeconds(15));
    p.port = Integer.parseInt(line.substring("listening ".length()).trim());
    return p;
  }

  record NodeResult(int exitCode, List<Map<String, Object>> allEvents, String stdout, String stderr, List<String> cmd) {
    List<Map<String, Object>> events(String name) {
      return allEvents.stream().filter(e -> name.equals(e.get("event"))).toList();
    }

    /** The one event called {@code name}; fails when there is none. */
    Map<String, Object> event(String name) {
      List<Map<String, Object>> found = events(name);
      if (found.isEmpty()) {
        throw new AssertionError("node printed no '" + name + "' event\n" + describe());
      }
      return found.getFirst();
    }

    String describe() {
      return "node " + String.join(" ", cmd.subList(1, cmd.size())) + "\nexit code " + exitCode
          + "\nstdout:\n" + stdout + "stderr:\n" + stderr;
    }
  }

  /** A node process whose stdout (JSON lines) and stderr are collected by reader threads. */
  static final class NodeProcess {
    private final Process process;
    private final List<String> command;
    private final List<String> lines = new CopyOnWriteArrayList<>();
    private final LinkedBlockingQueue<String> queue = new LinkedBlockingQueue<>();
    private final StringBuffer stderr = new StringBuffer();
    private final Thread outReader;
    private final Thread errReader;
    int port;

    private NodeProcess(Process process, List<String> command) {
      this.process = process;
      this.command = command;
      this.outReader = Thread.ofPlatform().daemon().name("node-stdout").start(() -> pump(process.getInputStream(), line -> {
        lines.add(line);
        queue.add(line);
      }));
      this.errReader = Thread.ofPlatform().daemon().name("node-stderr").start(() -> pump(process.getErrorStream(),
          line -> stderr.append(line).append('\n')));
    }

    static NodeProcess start(List<String> command) throws IOException {
      ProcessBuilder pb = new ProcessBuilder(command).redirectInput(ProcessBuilder.Redirect.PIPE);
      pb.environment().remove("NODE_OPTIONS"); // nothing from the environment may change TLS defaults
      pb.environment().remove("NODE_EXTRA_CA_CERTS");
      return new NodeProcess(pb.start(), command);
    }

    private static void pump(InputStream in, java.util.function.Consumer<String> sink) {
      try (BufferedReader r = new BufferedReader(new InputStreamReader(in, UTF_8))) {
        String line;
        while ((line = r.readLine()) != null) {
          sink.accept(line);
        }
      } catch (IOException e) {
        // process gone
      }
    }

    InetSocketAddress address() {
      return new InetSocketAddress(InetAddress.getLoopbackAddress(), port);
    }

    void closeStdin() {
      try {
        process.getOutputStream().close();
      } catch (IOException e) {
        // already gone
      }
    }

    int awaitExit(Duration timeout) throws InterruptedException {
      if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        kill();
        throw new AssertionError("node did not exit within " + timeout + "\n" + describe());
      }
      outReader.join(5000);
      errReader.join(5000);
      return process.exitValue();
    }

    String awaitLine(Predicate<String> match, Duration timeout) throws InterruptedException {
      long deadline = System.nanoTime() + timeout.toNanos();
      for (String l : lines) {
        if (match.test(l)) {
          return l;
        }
      }
      while (true) {
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          throw new AssertionError("node printed no matching line within " + timeout + "\n" + describe());
        }
        String line = queue.poll(Math.min(left, 100_000_000L), TimeUnit.NANOSECONDS);
        if (line != null && match.test(line)) {
          return line;
        }
        if (line == null && !process.isAlive() && queue.isEmpty()) {
          outReader.join(1000);
          if (queue.isEmpty()) {
            throw new AssertionError("node exited with " + process.exitValue() + " before printing the expected line\n"
                + describe());
          }
        }
      }
    }

    List<Map<String, Object>> events() {
      List<Map<String, Object>> events = new ArrayList<>();
      for (String l : lines) {
        if (l.startsWith("{")) {
          @SuppressWarnings("unchecked")
          Map<String, Object> m = (Map<String, Object>) Json.parse(l);
          events.add(m);
        }
      }
      return events;
    }

    List<Map<String, Object>> events(String name) {
      return events().stream().filter(e -> name.equals(e.get("event"))).toList();
    }

    Optional<Map<String, Object>> event(String name) {
      return events(name).stream().findFirst();
    }

    Map<String, Object> awaitEvent(String name, Duration timeout) throws InterruptedException {
      String needle = "\"event\":\"" + name + "\"";
      awaitLine(l -> l.startsWith("{") && l.contains(needle), timeout);
      return event(name).orElseThrow();
    }

    String stdout() {
      return String.join("\n", lines) + (lines.isEmpty() ? "" : "\n");
    }

    String stderr() {
      return stderr.toString();
    }

    String describe() {
      return "node " + String.join(" ", command.subList(1, command.size())) + "\nstdout:\n" + stdout()
          + "stderr:\n" + stderr();
    }

    void kill() {
      if (process.isAlive()) {
        process.destroy();
        try {
          if (!process.waitFor(3, TimeUnit.SECONDS)) {
            process.destroyForcibly().waitFor(3, TimeUnit.SECONDS);
          }
        } catch (InterruptedException e) {
          process.destroyForcibly();
          Thread.currentThread().interrupt();
        }
      }
    }
  }

  /** The {@code node} binary: {@code -Dnode.binary}, else {@code $NODE}, else {@code node} on the PATH. */
  private static String findNode() throws Exception {
    String configured = System.getProperty("node.binary", System.getenv("NODE"));
    String found = null;
    if (configured != null && !configured.isBlank()) {
      found = configured;
    } else {
      String path = System.getenv().getOrDefault("PATH", "");
      for (String dir : path.split(File.pathSeparator)) {
        Path candidate = Path.of(dir.isEmpty() ? "." : dir, "node");
        if (Files.isRegularFile(candidate) && Files.isExecutable(candidate)) {
          found = candidate.toString();
          break;
        }
      }
      if (found == null) {
        fail("NodeInteropTest needs Node.js 18+ ('node') but it is not on the PATH (" + path
            + "); install Node.js or point -Dnode.binary=/path/to/node (or $NODE) at it");
      }
    }
    Process p;
    try {
      p = new ProcessBuilder(found, "--version").redirectErrorStream(true).start();
    } catch (IOException e) {
      return fail("NodeInteropTest needs Node.js 18+ but '" + found + "' cannot be run (" + e.getMessage()
          + "); install Node.js or point -Dnode.binary=/path/to/node (or $NODE) at it");
    }
    if (!p.waitFor(15, SECONDS)) {
      p.destroyForcibly();
      fail("'" + found + " --version' did not finish within 15 s");
    }
    String version = new String(p.getInputStream().readAllBytes(), UTF_8).trim();
    if (p.exitValue() != 0 || !version.matches("v\\d+\\..*")) {
      fail("'" + found + " --version' failed (exit " + p.exitValue() + "): " + version);
    }
    int major = Integer.parseInt(version.substring(1, version.indexOf('.')));
    if (major < 18) {
      fail("NodeInteropTest needs Node.js 18+, found " + version + " at " + found);
    }
    return found;
  }

  private static void writeTrusting(IssuedCertificate cert, Path dir, X509Certificate root)
      throws IOException, java.security.cert.CertificateEncodingException {
    cert.writeTo(dir);
    String pem = "-----BEGIN CERTIFICATE-----\n"
        + java.util.Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(root.getEncoded())
        + "\n-----END CERTIFICATE-----\n";
    Files.writeString(dir.resolve("root-cert.pem"), pem, java.nio.charset.StandardCharsets.US_ASCII);
  }

  /** The Node scripts' payload: byte i = i mod 251. */
  static byte[] pattern(int n) {
    byte[] b = new byte[n];
    for (int i = 0; i < n; i++) {
      b[i] = (byte) (i % 251);
    }
    return b;
  }

  static String sha256(byte[] data) {
    return HexFormat.of().formatHex(newSha256().digest(data));
  }

  private static MessageDigest newSha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Just enough JSON for the scripts' output lines: objects, arrays, strings, integers, booleans, null. */
  static final class Json {
    private final String s;
    private int i;

    private Json(String s) {
      this.s = s;
    }

    static Object parse(String text) {
      Json j = new Json(text);
      Object v = j.value();
      j.ws();
      if (j.i != text.length()) {
        throw new IllegalArgumentException("trailing characters at " + j.i + " in " + text);
      }
      return v;
    }

    private void ws() {
      while (i < s.length() && Character.isWhitespace(s.charAt(i))) {
        i++;
      }
    }

    private Object value() {
      ws();
      if (i >= s.length()) {
        throw new IllegalArgumentException("unexpected end of " + s);
      }
      char c = s.charAt(i);
      return switch (c) {
        case '{' -> object();
        case '[' -> array();
        case '"' -> string();
        case 't' -> literal("true", Boolean.TRUE);
        case 'f' -> literal("false", Boolean.FALSE);
        case 'n' -> literal("null", null);
        default -> number();
      };
    }

    private Object literal(String word, Object v) {
      if (!s.startsWith(word, i)) {
        throw new IllegalArgumentException("bad literal at " + i + " in " + s);
      }
      i += word.length();
      return v;
    }

    private Map<String, Object> object() {
      Map<String, Object> m = new LinkedHashMap<>();
      i++;
      ws();
      if (s.charAt(i) == '}') {
        i++;
        return m;
      }
      while (true) {
        ws();
        String key = string();
        ws();
        expect(':');
        m.put(key, value());
        ws();
        if (s.charAt(i) == ',') {
          i++;
        } else {
          expect('}');
          return m;
        }
      }
    }

    private List<Object> array() {
      List<Object> l = new ArrayList<>();
      i++;
      ws();
      if (s.charAt(i) == ']') {
        i++;
        return l;
      }
      while (true) {
        l.add(value());
        ws();
        if (s.charAt(i) == ',') {
          i++;
        } else {
          expect(']');
          return l;
        }
      }
    }

    private String string() {
      expect('"');
      StringBuilder sb = new StringBuilder();
      while (true) {
        char c = s.charAt(i++);
        if (c == '"') {
          return sb.toString();
        }
        if (c != '\\') {
          sb.append(c);
          continue;
        }
        char e = s.charAt(i++);
        switch (e) {
          case 'n' -> sb.append('\n');
          case 't' -> sb.append('\t');
          case 'r' -> sb.append('\r');
          case 'b' -> sb.append('\b');
          case 'f' -> sb.append('\f');
          case 'u' -> {
            sb.append((char) Integer.parseInt(s.substring(i, i + 4), 16));
            i += 4;
          }
          default -> sb.append(e);
        }
      }
    }

    private Object number() {
      int start = i;
      while (i < s.length() && "+-0123456789.eE".indexOf(s.charAt(i)) >= 0) {
        i++;
      }
      String n = s.substring(start, i);
      if (n.isEmpty()) {
        throw new IllegalArgumentException("unexpected character at " + start + " in " + s);
      }
      return n.matches("-?\\d+") ? (Object) Long.parseLong(n) : (Object) Double.parseDouble(n);
    }

    private void expect(char c) {
      if (i >= s.length() || s.charAt(i) != c) {
        throw new IllegalArgumentException("expected '" + c + "' at " + i + " in " + s);
      }
      i++;
    }
  }
}
