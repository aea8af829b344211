package dev.ambient.ztunnel.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ambient.hbone.Authority;
import dev.ambient.hbone.HboneClient;
import dev.ambient.hbone.HboneConnectRequest;
import dev.ambient.hbone.HboneException;
import dev.ambient.hbone.HboneStream;
import dev.ambient.hbone.PoolConfig;
import dev.ambient.identity.HboneTls;
import dev.ambient.identity.SpiffeId;
import dev.ambient.identity.TlsOptions;
import dev.ambient.identity.WorkloadCertificate;
import dev.ambient.net.Transport;
import dev.ambient.testing.LeakDetectionExtension;
import dev.ambient.testing.netns.NetnsTopology;
import dev.ambient.xds.ca.CertificateAuthority;
import dev.ambient.xds.ca.Csr;
import dev.ambient.xds.ca.IssuedChain;
import dev.ambient.xds.server.ControlPlane;
import dev.ambient.xds.server.StandaloneControlPlane;
import io.netty.channel.EventLoopGroup;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two "node" network namespaces on a bridge, the real {@code ZtunnelMain} process in dedicated mode
 * in each, the control plane in the root namespace on the bridge address, and iptables in the
 * client node redirecting outbound TCP to 15001 (mark 0x539, ztunnel's own sockets, is skipped).
 * Node 0 is workload "client", node 1 workload "server" with an echo application on 8080.
 */
@Tag("netns")
@ExtendWith(LeakDetectionExtension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class NetnsMeshTest {
  private static final String MARKER = "PLAINTEXT-MARKER-7f3a9c";
  private static final String DENY_CLIENT = """
      apiVersion: security.istio.io/v1
      kind: AuthorizationPolicy
      metadata: {name: deny-client, namespace: default}
      spec:
        selector: {matchLabels: {app: server}}
        action: DENY
        rules: [{from: [{source: {principals: ["cluster.local/ns/default/sa/client"]}}]}]
      """;
  private static final String ECHO_PY = """
      import socket, threading
      s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
      s.bind(('0.0.0.0', 8080)); s.listen(64)
      def echo(c):
          try:
              while True:
                  d = c.recv(65536)
                  if not d: break
                  c.sendall(d)
          except OSError: pass
          c.close()
      while True:
          c, _ = s.accept(); threading.Thread(target=echo, args=(c,), daemon=True).start()
      """;
  /** Sends argv[2], prints what comes back. */
  private static final String CLIENT_PY = """
      import socket, sys
      c = socket.create_connection((sys.argv[1], 8080), timeout=10)
      c.sendall(sys.argv[2].encode())
      got = b''
      while len(got) < len(sys.argv[2]):
          d = c.recv(65536)
          if not d: break
          got += d
      print('echo:' + got.decode(), flush=True)
      """;
  /** Round-trips once, then waits (up to 40 s) for the connection to end and says so. */
  private static final String LONG_CLIENT_PY = """
      import socket, sys
      c = socket.create_connection((sys.argv[1], 8080), timeout=40)
      c.sendall(b'hello'); print('echo:' + c.recv(100).decode(), flush=True)
      try:
          while c.recv(100): pass
          print('closed: eof', flush=True)
      except OSError as e:
          print('closed: ' + str(e), flush=True)
      """;

  @TempDir static Path dir;
  private NetnsTopology net;
  private ControlPlane controlPlane;
  private Path configDir;
  private Path stateDir;
  private String client;
  private String server;
  private EventLoopGroup group;
  private final Transport transport = Transport.defaultTransport();

  @BeforeAll
  void setUp() throws Exception {
    net = NetnsTopology.create(NetnsTopology.uniquePrefix("zte"), 2, 100 + ThreadLocalRandom.current().nextInt(100));
    client = net.nodeAddress(0);
    server = net.nodeAddress(1);
    configDir = Files.createDirectories(dir.resolve("config"));
    stateDir = Files.createDirectories(dir.resolve("state"));
    Files.writeString(configDir.resolve("mesh.yaml"), """
        workloads:
        - {uid: Kubernetes//Pod/default/client, name: client, namespace: default, serviceAccount: client,
           node: node-0, workloadIps: ["%s"], protocol: HBONE}
        - {uid: Kubernetes//Pod/default/server, name: server, namespace: default, serviceAccount: server,
           node: node-1, workloadIps: ["%s"], protocol: HBONE, labels: {app: server}}
        """.formatted(client, server));
    Path tokens = dir.resolve("tokens");
    Files.writeString(tokens, """
        token-client spiffe://cluster.local/ns/default/sa/client
        token-server spiffe://cluster.local/ns/default/sa/server
        """);
    controlPlane = StandaloneControlPlane.start(configDir, null, stateDir, tokens,
        new InetSocketAddress(net.bridgeAddress(), 0));
    Files.writeString(dir.resolve("echo.py"), ECHO_PY);
    Files.writeString(dir.resolve("client.py"), CLIENT_PY);
    Files.writeString(dir.resolve("long_client.py"), LONG_CLIENT_PY);
    net.spawn(1, Map.of(), dir.resolve("echo.log"), "python3", dir.resolve("echo.py").toString());
    ztunnel(0, "client");
    ztunnel(1, "server");
    // Loopback and the control plane stay direct; ztunnel's own sockets carry mark 0x539.
    net.exec(0, "iptables", "-t", "nat", "-A", "OUTPUT", "-p", "tcp", "-d", "127.0.0.0/8", "-j", "RETURN");
    net.exec(0, "iptables", "-t", "nat", "-A", "OUTPUT", "-p", "tcp", "-d", net.bridgeAddress(), "-j", "RETURN");
    net.exec(0, "iptables", "-t", "nat", "-A", "OUTPUT", "-p", "tcp", "-m", "mark", "!", "--mark", "0x539",
        "-j", "REDIRECT", "--to-ports", "15001");
    awaitReady(client);
    awaitReady(server);
    group = transport.newEventLoopGroup(1, "netns-test");
  }

  @AfterAll
  void tearDown() {
    if (group != null) {
      group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }
    if (net != null) {
      net.close();
    }
    if (controlPlane != null) {
      controlPlane.close();
    }
  }

  private void ztunnel(int node, String workload) {
    String address = "https://" + net.bridgeAddress() + ":" + controlPlane.address().getPort();
    String root = stateDir.resolve("root-cert.pem").toString();
    Map<String, String> env = new HashMap<>();
    env.put("PROXY_MODE", "dedicated");
    env.put("PROXY_WORKLOAD_INFO", "default/" + workload + "/" + workload);
    env.put("XDS_ADDRESS", address);
    env.put("CA_ADDRESS", address);
    env.put("XDS_ROOT_CA", root);
    env.put("CA_ROOT_CA", root);
    env.put("AUTH_TOKEN", "token-" + workload);
    env.put("NODE_NAME", "node-" + node);
    env.put("ISTIO_META_DNS_CAPTURE", "false");
    env.put("ENABLE_ORIG_SRC", "false");
    env.put("PACKET_MARK", "1337");
    env.put("ZTUNNEL_WORKER_THREADS", "1");
    String java = ProcessHandle.current().info().command().orElse("java");
    net.spawn(node, env, dir.resolve("ztunnel-" + node + ".log"), java,
        "--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow",
        "-Xmx256m", "-XX:TieredStopAtLevel=1", "-Dlogback.configurationFile=logback-ztunnel.xml",
        "-cp", System.getProperty("java.class.path"), "dev.ambient.ztunnel.runtime.ZtunnelMain");
  }

  private void awaitReady(String node) throws Exception {
    HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(1)).build();
    HttpRequest ready = HttpRequest.newBuilder(URI.create("http://" + node + ":15021/healthz/ready"))
        .timeout(Duration.ofSeconds(2)).build();
    try {
      Eventually.assertThat(Duration.ofSeconds(30), () -> assertThat(
          http.send(ready, HttpResponse.BodyHandlers.discarding()).statusCode()).isEqualTo(200));
    } catch (AssertionError | Exception e) {
      throw new AssertionError("ztunnel on " + node + " not ready; logs:\n" + logs(), e);
    }
  }

  private String logs() throws IOException {
    StringBuilder b = new StringBuilder();
    for (int i = 0; i < 2; i++) {
      Path log = dir.resolve("ztunnel-" + i + ".log");
      if (Files.exists(log)) {
        String text = Files.readString(log);
        b.append("--- node ").append(i).append('\n').append(text, Math.max(0, text.length() - 4_000), text.length());
      }
    }
    return b.toString();
  }

  private String metrics(String node) throws Exception {
    HttpResponse<String> r = HttpClient.newHttpClient().send(
        HttpRequest.newBuilder(URI.create("http://" + node + ":15020/metrics")).timeout(Duration.ofSeconds(5)).build(),
        HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).isEqualTo(200);
    return r.body();
  }

  @Test
  void capturedTraffic_arrives_onlyTlsOnTheWire_andTheDestinationReportsMutualTls() throws Exception {
    Path pcap = dir.resolve("wire.pcap");
    Process dump = new ProcessBuilder("tcpdump", "-Z", "root", "--immediate-mode", "-i", net.hostVeth(0), "-U", "-w", pcap.toString(),
        "tcp and not host " + net.bridgeAddress()).redirectErrorStream(true)
        .redirectOutput(dir.resolve("tcpdump.log").toFile()).start();
    try {
      Eventually.assertThat(Duration.ofSeconds(5),
          () -> assertThat(Files.readString(dir.resolve("tcpdump.log"))).contains("listening on"));
      String out = net.exec(0, "python3", dir.resolve("client.py").toString(), server, MARKER);
      assertThat(out).contains("echo:" + MARKER);
      // Without --immediate-mode libpcap hands packets over per filled block or timeout, and a
      // tcpdump stopped before that loses them ("N received by filter, 0 captured").
      Thread.sleep(300);
    } finally {
      dump.destroy();
      dump.waitFor(5, TimeUnit.SECONDS);
    }
    byte[] wire = Files.readAllBytes(pcap);
    assertThat(new String(wire, StandardCharsets.ISO_8859_1)).doesNotContain(MARKER);
    String ports = new String(new ProcessBuilder("tcpdump", "-nn", "-r", pcap.toString(),
        "tcp and not port 15008").redirectErrorStream(true).start().getInputStream().readAllBytes(),
        StandardCharsets.UTF_8);
    assertThat(ports.lines().filter(l -> l.contains(" IP ")).toList()).as("non-15008 TCP between the nodes").isEmpty();
    String port15008 = new String(new ProcessBuilder("tcpdump", "-nn", "-r", pcap.toString(), "tcp port 15008")
        .redirectErrorStream(true).start().getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(port15008).as("capture (tcpdump: %s)", Files.readString(dir.resolve("tcpdump.log")))
        .contains(server + ".15008");

    Eventually.assertThat(Duration.ofSeconds(5), () -> assertThat(metrics(server)).containsPattern(
        "istio_tcp_connections_opened_total\\{connection_security_policy=\"mutual_tls\"[^}]*reporter=\"destination\""
            + "[^}]*source_principal=\"spiffe://cluster.local/ns/default/sa/client\""));
  }

  @Test
  void denyPolicy_addedWhileAConnectionIsOpen_closesIt() throws Exception {
    Path log = dir.resolve("long-client.log");
    Process p = net.spawn(0, Map.of(), log, "python3", dir.resolve("long_client.py").toString(), server);
    try {
      Eventually.assertThat(Duration.ofSeconds(10), () -> assertThat(Files.readString(log)).contains("echo:hello"));
      Files.writeString(configDir.resolve("deny.yaml"), DENY_CLIENT);
      Eventually.assertThat(Duration.ofSeconds(15), () -> assertThat(Files.readString(log)).contains("closed"));
      assertThat(net.tryExec(0, Duration.ofSeconds(15), "python3", dir.resolve("client.py").toString(), server,
          "denied?").output()).doesNotContain("echo:denied?");
    } finally {
      Files.deleteIfExists(configDir.resolve("deny.yaml"));
      p.destroyForcibly();
    }
    // Allowed again once the policy is gone.
    Eventually.assertThat(Duration.ofSeconds(15), () -> assertThat(
        net.exec(0, "python3", dir.resolve("client.py").toString(), server, "again")).contains("echo:again"));
  }

  @Test
  void clientCertificateFromAnotherTrustDomain_isRefusedAtTheHandshake() throws Exception {
    WorkloadCertificate good = meshCertificate(SpiffeId.of("cluster.local", "default", "client"));
    SpiffeId foreignId = SpiffeId.of("other.example", "default", "client");
    // Signed by the mesh's own root: only the SPIFFE trust domain is wrong.
    WorkloadCertificate sameRoot = meshCertificate(foreignId);
    WorkloadCertificate foreignRoot = foreignCertificate(foreignId);
    InetSocketAddress hbone = new InetSocketAddress(server, 15008);
    // The same handshake with a mesh certificate is accepted: the server answers the HTTP/2 preface.
    assertThat(firstBytes(hbone, good)).isGreaterThan(0);
    assertThatThrownBy(() -> firstBytes(hbone, sameRoot)).isInstanceOf(IOException.class);
    assertThatThrownBy(() -> firstBytes(hbone, foreignRoot)).isInstanceOf(IOException.class);
  }

  @Test
  void connectToIllegalTargets_onTheServerNode_isRefused() throws Exception {
    WorkloadCertificate cert = meshCertificate(SpiffeId.of("cluster.local", "default", "client"));
    HboneTls tls = HboneTls.create(cert, TlsOptions.DEFAULT);
    SpiffeId serverId = SpiffeId.of("cluster.local", "default", "server");
    InetSocketAddress hbone = new InetSocketAddress(server, 15008);
    try (HboneClient hc = HboneClient.builder().transport(transport).eventLoopGroup(group)
        .config(PoolConfig.defaults()).build()) {
      // Control: the application port is reachable.
      assertThat(status(hc, HboneConnectRequest.of(tls, serverId, hbone, Authority.parse(server + ":8080").orElseThrow())))
          .isEqualTo(200);
      // Spec §5.x: illegal ports {15001, 15006, 15008, 15080} are self calls; the admin port is
      // localhost-only; the target must be the local workload's IP. (15020/15021 are reachable
      // over HBONE on purpose: Istio lets the mesh scrape ztunnel's metrics that way.)
      for (String target : List.of(server + ":15001", server + ":15006", server + ":15008", server + ":15080",
          server + ":15000", "127.0.0.1:8080", "127.0.0.1:15000", "127.0.0.1:15001",
          client + ":8080", net.bridgeAddress() + ":" + controlPlane.address().getPort())) {
        assertThat(status(hc, HboneConnectRequest.of(tls, serverId, hbone, Authority.parse(target).orElseThrow())))
            .as("CONNECT %s", target).isNotEqualTo(200);
      }
    }
  }

  private static int status(HboneClient hc, HboneConnectRequest request) {
    try {
      HboneStream s = hc.open(request).get(10, TimeUnit.SECONDS);
      s.channel().close().syncUninterruptibly();
      return 200;
    } catch (java.util.concurrent.ExecutionException | CompletionException e) {
      if (e.getCause() instanceof HboneException he && he.reason() == HboneException.Reason.HTTP_STATUS) {
        return he.status();
      }
      throw new AssertionError("CONNECT " + request.authority() + " failed other than by a status", e);
    } catch (InterruptedException | java.util.concurrent.TimeoutException e) {
      throw new AssertionError("CONNECT " + request.authority() + " hung", e);
    }
  }

  /** A certificate signed by the control plane's own root (kept in its state directory). */
  private WorkloadCertificate meshCertificate(SpiffeId id) {
    return sign(CertificateAuthority.loadOrCreate(stateDir, "cluster.local", Clock.systemUTC()), id);
  }

  private WorkloadCertificate foreignCertificate(SpiffeId id) throws IOException {
    return sign(CertificateAuthority.loadOrCreate(Files.createDirectories(dir.resolve("foreign-ca")),
        id.trustDomain(), Clock.systemUTC()), id);
  }

  private static WorkloadCertificate sign(CertificateAuthority ca, SpiffeId id) {
    Csr csr = Csr.generate(id);
    IssuedChain chain = ca.sign(Csr.parse(csr.pem()), id, Duration.ofHours(1));
    return WorkloadCertificate.of(csr.privateKey(), chain.leaf(), chain.intermediates(), chain.roots());
  }

  /** Handshakes as {@code cert} and reads what the server sends first (its HTTP/2 SETTINGS). */
  private static int firstBytes(InetSocketAddress server, WorkloadCertificate cert) throws Exception {
    try (SSLSocket s = (SSLSocket) TlsProbe.context(cert).getSocketFactory().createSocket()) {
      s.connect(server, 2_000);
      s.setSoTimeout(5_000);
      javax.net.ssl.SSLParameters p = s.getSSLParameters();
      p.setApplicationProtocols(new String[] {"h2"});
      s.setSSLParameters(p);
      s.startHandshake();
      s.getOutputStream().write("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
      s.getOutputStream().write(new byte[] {0, 0, 0, 4, 0, 0, 0, 0, 0});
      s.getOutputStream().flush();
      InputStream in = s.getInputStream();
      byte[] buf = new byte[64];
      int n = in.read(buf);
      if (n < 0) {
        throw new IOException("closed by the server");
      }
      return n;
    }
  }
}
