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
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
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
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A running lab, owned by the {@code lab up} supervisor process: the network, fabric8's mock API server in
 * CRUD mode on the bridge address (the lab's Kubernetes API), the embedded control plane on
 * {@code 198.18.0.1:15012} (the bridge address) serving the state directory's {@code config/}, the pod
 * publisher, and per node the CNI node agent and a shared-mode ztunnel in the node's namespace.
 * {@link #close()} removes all of it and the state directory.
 */
final class Lab implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(Lab.class);
  static final int XDS_PORT = 15012;
  /** How long {@code lab up} waits for a started node process to report ready. */
  private static final Duration READY_TIMEOUT = Duration.ofSeconds(60);
  static final String AGENT = "node agent";
  static final String ZTUNNEL = "ztunnel";
  static final int AGENT_HEALTH_PORT = 8000;
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
  private final List<NodeProcess> processes = new java.util.concurrent.CopyOnWriteArrayList<>();
  private final Map<String, Recipe> recipes = new HashMap<>();
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
    // So that lab down finds (and stops) a supervisor interrupted before it is ready.
    state.writeStarting(new LabState.Starting(layout.prefix(), ProcessHandle.current().pid()));
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
    writeProcesses();
    state.writeInfo(new LabState.Info(layout, apiUrl, xds, ProcessHandle.current().pid()));
  }

  /** {@code processes.txt}, which {@code lab status} shows. */
  private void writeProcesses() throws IOException {
    List<String> lines = new ArrayList<>();
    processes.forEach(p -> lines.add(p.node() + "\t" + p.what() + "\tpid " + p.process().pid() + "\t" + p.log()));
    skipped.forEach(s -> lines.add("SKIPPED\t" + s));
    Files.write(state.dir().resolve("processes.txt"), lines);
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
    List<String> agent = new ArrayList<>(install.agentCommand());
    agent.addAll(List.of("--node-name", name, "--cni-bin-dir", dir.resolve("cni-bin").toString(),
        "--cni-net-dir", dir.resolve("cni-net.d").toString(), "--run-dir", dir.resolve("run").toString(),
        "--zds-socket", zds.toString(), "--rules", "auto", "--master", apiUrl, "--healthz-port",
        Integer.toString(AGENT_HEALTH_PORT),
        // fabric8's CRUD mock implements neither the spec.nodeName field selector nor pods/status patches
        "--no-node-field-selector", "--no-status-subresource"));
    spawn(new Recipe(node, AGENT, dir.resolve("cni-agent.log"), Map.of(), agent), false);
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
    spawn(new Recipe(node, ZTUNNEL, dir.resolve("ztunnel.log"), env, install.ztunnelCommand()), false);
  }

  /** How a node process is started, kept so that it can be restarted. */
  private record Recipe(int node, String what, Path log, Map<String, String> env, List<String> command) {}

  private void spawn(Recipe r, boolean appendLog) throws IOException {
    ProcessBuilder pb = new ProcessBuilder(Sh.inNetns(layout.nodeNetns(r.node()), r.command()))
        .redirectErrorStream(true)
        .redirectOutput(appendLog ? ProcessBuilder.Redirect.appendTo(r.log().toFile()) : ProcessBuilder.Redirect.to(
            r.log().toFile()))
        .redirectInput(new File("/dev/null"));
    pb.environment().putAll(r.env());
    recipes.put(r.node() + "/" + r.what(), r);
    processes.add(new NodeProcess(layout.nodeName(r.node()), r.what(), pb.start(), r.log()));
  }

  /**
   * Stops a node process ({@link #AGENT} or {@link #ZTUNNEL}; SIGTERM, SIGKILL after 10 s) and starts it again with
   * the same command line, its output appended to the same log; waits until it is ready again.
   */
  synchronized NodeProcess restart(int node, String what) throws IOException, InterruptedException {
    Recipe r = recipes.get(node + "/" + what);
    if (r == null) {
      throw new IllegalArgumentException("no " + what + " runs on node " + node);
    }
    NodeProcess old = processes.stream().filter(p -> p.node().equals(layout.nodeName(node)) && p.what().equals(what))
        .findFirst().orElseThrow();
    processes.remove(old);
    old.process().destroy();
    if (!old.process().waitFor(10, TimeUnit.SECONDS)) {
      Sh.kill(old.process().toHandle());
    }
    spawn(r, true);
    NodeProcess now = processes.getLast();
    writeProcesses();
    watchExit(now, m -> log.warn(m));
    if (!awaitReady(now, READY_TIMEOUT)) {
      String why = now.process().isAlive() ? "not ready " + READY_TIMEOUT.toSeconds() + " s after the restart"
          : "exited with " + now.process().exitValue() + " after the restart";
      throw new IllegalStateException(what + " on " + now.node() + " " + why + "; " + now.log() + " ends with:\n"
          + lastLines(now.log(), 15));
    }
    return now;
  }

  private static String lastLines(java.nio.file.Path log, int n) {
    try {
      java.util.List<String> lines = java.nio.file.Files.readAllLines(log);
      return String.join("\n", lines.subList(Math.max(0, lines.size() - n), lines.size()));
    } catch (IOException | RuntimeException e) {
      return "(cannot read it: " + e + ")";
    }
  }

  /** The URL that answers 200 once a node process is ready: the agent's /readyz, ztunnel's /healthz/ready. */
  private String readinessUrl(NodeProcess p) {
    String address = layout.nodeAddress(layout.nodeIndex(p.node()));
    return p.what().equals(AGENT) ? "http://" + address + ":" + AGENT_HEALTH_PORT + "/readyz"
        : "http://" + address + ":15021/healthz/ready";
  }

  /** Polls the process's readiness endpoint (reachable from the root namespace over the bridge). */
  private boolean awaitReady(NodeProcess p, Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    URI uri = URI.create(readinessUrl(p));
    try (HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(1)).build()) {
      while (System.nanoTime() < deadline && p.process().isAlive()) {
        try {
          HttpResponse<Void> r = http.send(HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(2)).build(),
              HttpResponse.BodyHandlers.discarding());
          if (r.statusCode() == 200) {
            return true;
          }
        } catch (IOException e) {
          // not listening yet
        }
        Thread.sleep(200);
      }
    }
    return false;
  }

  /**
   * Waits until every node process is ready; one that exits before (a command not available in this build,
   * a bad configuration) is dropped and reported as skipped with its last log line.
   */
  private void awaitNodeProcesses(Consumer<String> progress) throws InterruptedException, IOException {
    for (NodeProcess p : List.copyOf(processes)) {
      boolean ready = awaitReady(p, READY_TIMEOUT);
      if (!ready && p.process().waitFor(1, TimeUnit.SECONDS)) {
        processes.remove(p);
        String out = Files.readString(p.log()).strip();
        String last = out.isEmpty() ? "(no output)" : out.lines().reduce((a, b) -> b).orElse("");
        String msg = p.what() + " on " + p.node() + " exited at start (code " + p.process().exitValue() + "): " + last;
        skipped.add(msg);
        progress.accept("SKIPPED: " + msg + " (log " + p.log() + ")");
        continue;
      }
      progress.accept(p.what() + " on " + p.node() + ": pid " + p.process().pid()
          + (ready ? ", ready" : ", NOT READY after " + READY_TIMEOUT.toSeconds() + " s") + ", log " + p.log());
      watchExit(p, progress);
    }
  }

  private void watchExit(NodeProcess p, Consumer<String> progress) {
    p.process().onExit().thenAccept(x -> {
      if (!closed && processes.stream().anyMatch(q -> q.process() == x)) {
        progress.accept("WARNING: " + p.what() + " on " + p.node() + " exited with " + x.exitValue() + ", see "
            + p.log());
      }
    });
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
