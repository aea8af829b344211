package dev.ambient.lab;

import dev.ambient.xds.server.ControlPlane;
import dev.ambient.xds.server.StandaloneControlPlane;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesCrudDispatcher;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.Context;
import io.fabric8.mockwebserver.MockWebServer;
import java.io.File;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.jspecify.annotations.Nullable;

/**
 * A running lab, owned by the {@code lab up} supervisor process: the network, fabric8's mock API server in
 * CRUD mode on the bridge address (the lab's Kubernetes API), the embedded control plane on
 * {@code 198.18.0.1:15012} (the bridge address) serving the state directory's {@code config/}, the pod
 * publisher, and per node the CNI node agent and a shared-mode ztunnel in the node's namespace.
 * {@link #close()} removes all of it and the state directory.
 */
final class Lab implements AutoCloseable {
  static final int XDS_PORT = 15012;
  /** How long a node process may run before we trust it started (a missing command exits at once). */
  private static final Duration STARTUP_GRACE = Duration.ofSeconds(8);
  /** fabric8's mock web server logs every request through java.util.logging; a strong reference keeps the level. */
  private static final java.util.logging.Logger MOCK_LOG =
      java.util.logging.Logger.getLogger("io.fabric8.mockwebserver");

  /** Options of {@code lab up}. */
  record Options(int nodes, @Nullable Path config, boolean nodeProcesses, int subnet) {
    Options(int nodes, @Nullable Path config, boolean nodeProcesses) {
      this(nodes, config, nodeProcesses, 0);
    }
  }

  /** A process the lab runs on a node. */
  record NodeProcess(String node, String what, Process process, Path log) {}

  private final LabState state;
  private final LabLayout layout;
  private final List<NodeProcess> processes = new ArrayList<>();
  private final List<String> skipped = new ArrayList<>();
  private @Nullable KubernetesMockServer api;
  private @Nullable KubernetesClient client;
  private @Nullable ControlPlane controlPlane;
  private @Nullable PodPublisher publisher;
  private volatile boolean closed;

  private Lab(LabState state, LabLayout layout) {
    this.state = state;
    this.layout = layout;
  }

  LabLayout layout() {
    return layout;
  }

  /** Steps that were skipped because a command is not available in this build, in plain words. */
  List<String> skipped() {
    return List.copyOf(skipped);
  }

  List<NodeProcess> processes() {
    return List.copyOf(processes);
  }

  /**
   * Brings a lab up. Fails if one is already running (or left state behind: run {@code lab down}).
   * On any failure everything created so far is removed.
   */
  static Lab up(LabState state, Install install, Options options, Consumer<String> progress) throws Exception {
    if (state.info().isPresent()) {
      throw new IllegalStateException("a lab is already running (state in " + state.dir()
          + "); use it, or run ./ambient lab down first");
    }
    LabLayout layout = LabLayout.random(options.nodes(), options.subnet());
    Lab lab = new Lab(state, layout);
    try {
      lab.start(install, options, progress);
      return lab;
    } catch (Exception | Error e) {
      lab.close();
      throw e;
    }
  }

  private void start(Install install, Options options, Consumer<String> progress) throws Exception {
    Files.createDirectories(state.dir());
    progress.accept("network: bridge " + layout.bridge() + " " + layout.bridgeAddress() + "/24, " + layout.nodes()
        + " node namespace(s)");
    LabNetwork.create(layout);

    MOCK_LOG.setLevel(java.util.logging.Level.WARNING);
    InetAddress bridge = InetAddress.getByName(layout.bridgeAddress());
    KubernetesMockServer server = new KubernetesMockServer(new Context(), new MockWebServer(), new HashMap<>(),
        new KubernetesCrudDispatcher(), false);
    api = server;
    server.init(bridge, 0);
    String apiUrl = "http://" + layout.bridgeAddress() + ":" + server.getPort();
    client = Pods.client(apiUrl);
    progress.accept("API server (fabric8 mock, CRUD): " + apiUrl);

    Path config = state.configDir();
    Files.createDirectories(config.resolve("applied"));
    if (options.config() != null) {
      copyConfig(options.config(), config.resolve("applied"));
    }
    publisher = PodPublisher.start(client, config);
    Path cpState = state.dir().resolve("control-plane");
    controlPlane = StandaloneControlPlane.start(config, null, cpState, null, new InetSocketAddress(bridge, XDS_PORT));
    String xds = layout.bridgeAddress() + ":" + XDS_PORT;
    progress.accept("control plane (xDS + CA): " + xds + ", config " + config);

    for (int i = 0; i < layout.nodes(); i++) {
      prepareNode(i, apiUrl);
    }
    if (options.nodeProcesses()) {
      for (int i = 0; i < layout.nodes(); i++) {
        startNode(install, i, apiUrl, cpState.resolve("root-cert.pem"));
      }
      awaitNodeProcesses(progress);
    }
    List<String> lines = new ArrayList<>();
    processes.forEach(p -> lines.add(p.node() + "\t" + p.what() + "\tpid " + p.process().pid() + "\t" + p.log()));
    skipped.forEach(s -> lines.add("SKIPPED\t" + s));
    Files.write(state.dir().resolve("processes.txt"), lines);
    state.writeInfo(new LabState.Info(layout, apiUrl, xds, ProcessHandle.current().pid()));
  }

  /** The node's directories, its primary CNI config and the plugin's kubeconfig. */
  private void prepareNode(int node, String apiUrl) throws IOException {
    Path dir = state.nodeDir(layout, node);
    Files.createDirectories(dir.resolve("cni-bin"));
    Files.createDirectories(dir.resolve("cni-net.d"));
    Files.createDirectories(dir.resolve("run"));
    Files.writeString(dir.resolve("cni-net.d").resolve(CniInvocation.PRIMARY_CONFLIST_NAME),
        CniInvocation.PRIMARY_CONFLIST);
    // The agent would write this (spec §1.3 step 2); ours does not yet, and the lab knows the API server.
    Files.writeString(dir.resolve("run").resolve("istio-cni-kubeconfig"), kubeconfig(apiUrl));
  }

  static String kubeconfig(String apiUrl) {
    return """
        apiVersion: v1
        kind: Config
        clusters:
        - name: local
          cluster:
            server: %s
        contexts:
        - name: istio-cni-context
          context:
            cluster: local
            user: istio-cni
        current-context: istio-cni-context
        users:
        - name: istio-cni
          user:
            token: lab
        """.formatted(apiUrl);
  }

  private void startNode(Install install, int node, String apiUrl, Path rootCert) throws IOException {
    Path dir = state.nodeDir(layout, node);
    String name = layout.nodeName(node);
    Path zds = dir.resolve("ztunnel.sock");
    spawn(node, "node agent", dir.resolve("cni-agent.log"), Map.of(), install.launcher().toString(), "cni-agent",
        "--node-name", name, "--cni-bin-dir", dir.resolve("cni-bin").toString(),
        "--cni-net-dir", dir.resolve("cni-net.d").toString(), "--run-dir", dir.resolve("run").toString(),
        "--zds-socket", zds.toString(), "--rules", "auto", "--master", apiUrl, "--healthz-port", "8000",
        // fabric8's CRUD mock implements neither the spec.nodeName field selector nor pods/status patches
        "--no-node-field-selector", "--no-status-subresource");
    Map<String, String> env = new LinkedHashMap<>();
    env.put("PROXY_MODE", "shared");
    env.put("INPOD_UDS", zds.toString());
    env.put("XDS_ADDRESS", "https://" + layout.bridgeAddress() + ":" + XDS_PORT);
    env.put("CA_ADDRESS", "https://" + layout.bridgeAddress() + ":" + XDS_PORT);
    env.put("XDS_ROOT_CA", rootCert.toString());
    env.put("CA_ROOT_CA", rootCert.toString());
    env.put("NODE_NAME", name);
    env.put("INSTANCE_IP", layout.nodeAddress(node));
    env.put("POD_NAME", "ztunnel-" + name);
    env.put("POD_NAMESPACE", "istio-system");
    env.put("SERVICE_ACCOUNT", "ztunnel");
    spawn(node, "ztunnel", dir.resolve("ztunnel.log"), env, install.launcher().toString(), "ztunnel");
  }

  private void spawn(int node, String what, Path log, Map<String, String> env, String... command) throws IOException {
    ProcessBuilder pb = new ProcessBuilder(Sh.inNetns(layout.nodeNetns(node), List.of(command)))
        .redirectErrorStream(true).redirectOutput(log.toFile()).redirectInput(new File("/dev/null"));
    pb.environment().putAll(env);
    processes.add(new NodeProcess(layout.nodeName(node), what, pb.start(), log));
  }

  /** Drops node processes that exited at once (a command not available in this build), saying why. */
  private void awaitNodeProcesses(Consumer<String> progress) throws InterruptedException, IOException {
    long deadline = System.nanoTime() + STARTUP_GRACE.toNanos();
    for (NodeProcess p : List.copyOf(processes)) {
      long left = deadline - System.nanoTime();
      if (left > 0 && p.process().waitFor(left, TimeUnit.NANOSECONDS)) {
        processes.remove(p);
        String out = Files.readString(p.log()).strip();
        String last = out.isEmpty() ? "(no output)" : out.lines().reduce((a, b) -> b).orElse("");
        String msg = p.what() + " on " + p.node() + " exited at start (code " + p.process().exitValue() + "): " + last;
        skipped.add(msg);
        progress.accept("SKIPPED: " + msg + " (log " + p.log() + ")");
      } else {
        progress.accept(p.what() + " on " + p.node() + ": pid " + p.process().pid() + ", log " + p.log());
        p.process().onExit().thenAccept(x -> {
          if (!closed) {
            progress.accept("WARNING: " + p.what() + " on " + p.node() + " exited with " + x.exitValue() + ", see "
                + p.log());
          }
        });
      }
    }
  }

  private static void copyConfig(Path from, Path to) throws IOException {
    if (!Files.isDirectory(from)) {
      throw new IllegalArgumentException("--config " + from + " is not a directory");
    }
    try (var s = Files.walk(from)) {
      List<Path> files = s.filter(Files::isRegularFile)
          .filter(f -> f.toString().endsWith(".yaml") || f.toString().endsWith(".yml")).toList();
      for (Path f : files) {
        Path target = to.resolve(from.relativize(f).toString());
        Files.createDirectories(target.getParent());
        Files.copy(f, target);
      }
    }
  }

  /** Stops everything this lab started and removes its namespaces, links and state. Idempotent. */
  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    for (NodeProcess p : processes) {
      Sh.kill(p.process().toHandle());
    }
    processes.clear();
    if (publisher != null) {
      publisher.close();
    }
    if (controlPlane != null) {
      controlPlane.close();
    }
    if (client != null) {
      client.close();
    }
    if (api != null) {
      api.destroy();
    }
    LabNetwork.removeAll(layout.prefix() + "-");
    state.delete();
  }
}
