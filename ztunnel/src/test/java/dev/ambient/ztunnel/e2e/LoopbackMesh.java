package dev.ambient.ztunnel.e2e;

import dev.ambient.identity.SpiffeId;
import dev.ambient.xds.server.ControlPlane;
import dev.ambient.xds.server.StandaloneControlPlane;
import dev.ambient.ztunnel.ZtunnelConfig;
import dev.ambient.ztunnel.proxy.EchoServer;
import dev.ambient.ztunnel.proxy.ProxyListener;
import dev.ambient.ztunnel.runtime.Ztunnel;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * The in-process mesh on loopback: the embedded control plane on 127.0.0.1, ztunnel A serving
 * workload "client" (127.0.0.2, SOCKS5 on 127.0.0.2), ztunnel B serving the HBONE workload "server"
 * (127.0.0.3, HBONE on 127.0.0.3:15008, echo on 127.0.0.3:8080), a TCP-only workload "legacy"
 * (127.0.0.4, echo on 127.0.0.4:8080), service echo.default.svc.cluster.local with VIP
 * 127.10.0.1:80 → 8080 backed by "server", and an unknown host 127.0.0.5 (echo on 8080) for
 * passthrough.
 */
final class LoopbackMesh implements AutoCloseable {
  static final String TRUST_DOMAIN = "cluster.local";
  static final String CLIENT_IP = "127.0.0.2";
  static final String SERVER_IP = "127.0.0.3";
  static final String TCP_IP = "127.0.0.4";
  static final String UNKNOWN_IP = "127.0.0.5";
  static final String VIP = "127.10.0.1";
  static final int APP_PORT = 8080;
  static final String CLIENT_PRINCIPAL = "spiffe://cluster.local/ns/default/sa/client";
  static final String SERVER_WORKLOAD_UID = "Kubernetes//Pod/default/server";

  static final String MESH = """
      workloads:
      - uid: Kubernetes//Pod/default/client
        name: client
        namespace: default
        serviceAccount: client
        node: node-a
        workloadIps: ["127.0.0.2"]
        protocol: HBONE
      - uid: Kubernetes//Pod/default/server
        name: server
        namespace: default
        serviceAccount: server
        node: node-b
        workloadIps: ["127.0.0.3"]
        protocol: HBONE
        services:
          "default/echo.default.svc.cluster.local": {80: 8080}
        labels: {app: server}
      - uid: Kubernetes//Pod/default/legacy
        name: legacy
        namespace: default
        serviceAccount: legacy
        node: node-c
        workloadIps: ["127.0.0.4"]
        protocol: TCP
      services:
      - name: echo
        namespace: default
        hostname: echo.default.svc.cluster.local
        vips: ["/127.10.0.1"]
        ports: {80: 8080}
      """;

  final Path configDir;
  final Path stateDir;
  final ControlPlane controlPlane;
  final EchoServer serverEcho;
  final EchoServer tcpEcho;
  final EchoServer unknownEcho;
  private final List<Ztunnel> ztunnels = new ArrayList<>();

  private LoopbackMesh(Path dir) throws IOException {
    configDir = Files.createDirectories(dir.resolve("config"));
    stateDir = Files.createDirectories(dir.resolve("state"));
    Files.writeString(configDir.resolve("mesh.yaml"), MESH);
    serverEcho = new EchoServer(new InetSocketAddress(SERVER_IP, APP_PORT));
    tcpEcho = new EchoServer(new InetSocketAddress(TCP_IP, APP_PORT));
    unknownEcho = new EchoServer(new InetSocketAddress(UNKNOWN_IP, APP_PORT));
    Path tokens = dir.resolve("tokens");
    Files.writeString(tokens, """
        token-client spiffe://cluster.local/ns/default/sa/client
        token-server spiffe://cluster.local/ns/default/sa/server
        """);
    controlPlane = StandaloneControlPlane.start(configDir, null, stateDir, tokens, new InetSocketAddress("127.0.0.1", 0));
  }

  /** Starts the control plane and the echo servers (no ztunnel yet). */
  static LoopbackMesh create(Path dir) throws IOException {
    return new LoopbackMesh(dir);
  }

  /** The Istio environment of a dedicated-mode ztunnel for {@code workload} (namespace default). */
  Map<String, String> env(String workload, String nodeName) {
    String address = "https://127.0.0.1:" + controlPlane.address().getPort();
    String root = stateDir.resolve("root-cert.pem").toString();
    Map<String, String> env = new HashMap<>();
    env.put("PROXY_MODE", "dedicated");
    env.put("PROXY_WORKLOAD_INFO", "default/" + workload + "/" + workload);
    env.put("XDS_ADDRESS", address);
    env.put("CA_ADDRESS", address);
    env.put("XDS_ROOT_CA", root);
    env.put("CA_ROOT_CA", root);
    env.put("NODE_NAME", nodeName);
    env.put("AUTH_TOKEN", "token-" + workload);
    env.put("ISTIO_META_DNS_CAPTURE", "false");
    env.put("ENABLE_ORIG_SRC", "false");
    env.put("UNSTABLE_ENABLE_SOCKS5", "true");
    env.put("ZTUNNEL_WORKER_THREADS", "2");
    return env;
  }

  /** Listeners on {@code ip}: HBONE on the real 15008, everything else on port 0. */
  static Ztunnel.Binds binds(String ip) {
    return new Ztunnel.Binds(
        new InetSocketAddress(ip, 0), new InetSocketAddress(ip, 0), new InetSocketAddress(ip, 15008),
        Optional.of(new InetSocketAddress(ip, 0)), 0, new InetSocketAddress(ip, 0), new InetSocketAddress(ip, 0));
  }

  /** Starts a ztunnel and waits for its listeners. */
  Ztunnel start(Map<String, String> env, String ip) throws Exception {
    Ztunnel z = Ztunnel.start(ZtunnelConfig.fromEnvironment(env), env, binds(ip));
    ztunnels.add(z);
    z.started().get(20, TimeUnit.SECONDS);
    // The inbound listener refuses handshakes until the first certificate is in (see the report).
    String[] info = env.get("PROXY_WORKLOAD_INFO").split("/");
    SpiffeId id = SpiffeId.of(TRUST_DOMAIN, info[0], info[2]);
    z.secrets().fetchCertificate(id).get(10, TimeUnit.SECONDS);
    return z;
  }

  Ztunnel startClient(Map<String, String> extraEnv) throws Exception {
    Map<String, String> env = env("client", "node-a");
    env.putAll(extraEnv);
    return start(env, CLIENT_IP);
  }

  Ztunnel startServer(Map<String, String> extraEnv) throws Exception {
    Map<String, String> env = env("server", "node-b");
    env.putAll(extraEnv);
    return start(env, SERVER_IP);
  }

  /** The SOCKS5 listener's address of {@code z}. */
  static InetSocketAddress socks5(Ztunnel z) {
    // Start order: inbound, inbound plaintext, outbound, SOCKS5.
    List<ProxyListener> l = z.listeners();
    return l.get(l.size() - 1).localAddress();
  }

  /** Replaces (or with null removes) {@code name}.yaml in the control plane's config directory. */
  void writeConfig(String name, String yaml) throws IOException {
    Path file = configDir.resolve(name + ".yaml");
    if (yaml == null) {
      Files.deleteIfExists(file);
      return;
    }
    Path tmp = configDir.resolve("." + name + ".tmp");
    Files.writeString(tmp, yaml);
    Files.move(tmp, file, java.nio.file.StandardCopyOption.ATOMIC_MOVE, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
  }

  @Override
  public void close() throws Exception {
    for (Ztunnel z : ztunnels) {
      z.close();
    }
    for (Ztunnel z : ztunnels) {
      z.terminated().get(10, TimeUnit.SECONDS);
    }
    controlPlane.close();
    serverEcho.close();
    tcpEcho.close();
    unknownEcho.close();
  }
}
