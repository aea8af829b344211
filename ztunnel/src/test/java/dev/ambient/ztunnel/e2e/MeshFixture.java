package dev.ambient.ztunnel.e2e;

import dev.ambient.identity.SpiffeId;
import dev.ambient.xds.server.ControlPlane;
import dev.ambient.xds.server.StandaloneControlPlane;
import dev.ambient.ztunnel.ZtunnelConfig;
import dev.ambient.ztunnel.runtime.Ztunnel;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * The embedded control plane on 127.0.0.1 with a caller-given token file, and in-process ztunnels
 * started against it: the plumbing of {@link LoopbackMesh} for tests that need their own topology
 * (their own addresses, networks, gateways). Mesh YAML goes in with {@link #writeConfig}.
 */
final class MeshFixture implements AutoCloseable {
  static final String TRUST_DOMAIN = "cluster.local";

  final Path configDir;
  final Path stateDir;
  final ControlPlane controlPlane;
  private final List<Ztunnel> ztunnels = new ArrayList<>();

  /**
   * @param tokens lines {@code <token> <spiffe-id> [node-proxy]}
   */
  MeshFixture(Path dir, String tokens) throws IOException {
    configDir = Files.createDirectories(dir.resolve("config"));
    stateDir = Files.createDirectories(dir.resolve("state"));
    Path tokenFile = dir.resolve("tokens");
    Files.writeString(tokenFile, tokens);
    controlPlane = StandaloneControlPlane.start(configDir, null, stateDir, tokenFile,
        new InetSocketAddress("127.0.0.1", 0));
  }

  String address() {
    return "https://127.0.0.1:" + controlPlane.address().getPort();
  }

  Path rootCert() {
    return stateDir.resolve("root-cert.pem");
  }

  /** The common environment: xDS and CA of this control plane, no DNS capture, two workers. */
  Map<String, String> baseEnv(String token, String nodeName) {
    Map<String, String> env = new HashMap<>();
    env.put("XDS_ADDRESS", address());
    env.put("CA_ADDRESS", address());
    env.put("XDS_ROOT_CA", rootCert().toString());
    env.put("CA_ROOT_CA", rootCert().toString());
    env.put("NODE_NAME", nodeName);
    env.put("AUTH_TOKEN", token);
    env.put("ISTIO_META_DNS_CAPTURE", "false");
    env.put("ZTUNNEL_WORKER_THREADS", "2");
    return env;
  }

  /** A dedicated-mode ztunnel for {@code namespace/name/sa}, with SOCKS5 and without spoofing. */
  Map<String, String> dedicatedEnv(String namespace, String name, String serviceAccount, String token, String node) {
    Map<String, String> env = baseEnv(token, node);
    env.put("PROXY_MODE", "dedicated");
    env.put("PROXY_WORKLOAD_INFO", namespace + "/" + name + "/" + serviceAccount);
    env.put("ENABLE_ORIG_SRC", "false");
    env.put("UNSTABLE_ENABLE_SOCKS5", "true");
    return env;
  }

  /** Listeners on {@code ip}: HBONE on {@code hbonePort}, everything else on port 0. */
  static Ztunnel.Binds binds(String ip, int hbonePort) {
    return new Ztunnel.Binds(
        new InetSocketAddress(ip, 0), new InetSocketAddress(ip, 0), new InetSocketAddress(ip, hbonePort),
        Optional.of(new InetSocketAddress(ip, 0)), 0, new InetSocketAddress(ip, 0), new InetSocketAddress(ip, 0));
  }

  /** Starts a ztunnel, waits for its listeners and for the certificate of {@code identity}. */
  Ztunnel start(Map<String, String> env, Ztunnel.Binds binds, SpiffeId identity) throws Exception {
    Ztunnel z = Ztunnel.start(ZtunnelConfig.fromEnvironment(env), env, binds);
    ztunnels.add(z);
    z.started().get(20, TimeUnit.SECONDS);
    z.secrets().fetchCertificate(identity).get(10, TimeUnit.SECONDS);
    return z;
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
    Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
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
  }
}
