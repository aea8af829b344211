package dev.ambient.lab;

import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.io.File;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;

/**
 * {@code ./ambient lab ...}: {@code up [--nodes N] [--config DIR] [--foreground]}, {@code status},
 * {@code down}, {@code pod add NAME --node N [--namespace NS] [--service-account SA] [--labels k=v,...]
 * [-- COMMAND...]}, {@code pod del NAME [--namespace NS]}, {@code exec POD [--namespace NS] -- COMMAND...},
 * {@code pod label NAME [--namespace NS] k=v|k- ...}, {@code apply -f FILE}, {@code delete -f FILE}. Exit codes: 0 ok, 1 failure (the message says what), 2 usage.
 */
public final class LabMain {
  private static final String USAGE = """
      usage: ./ambient lab <command>
        up [--nodes N] [--config DIR] [--subnet S] [--foreground] [--no-node-processes]
                                 start a lab (default 2 nodes; nodes on 198.18.S.0/24, S default 0)
                                 and return once it is ready
        status                   what runs: nodes, processes, pods, published workloads
        down                     stop the lab and remove everything it created (also leftovers)
        pod add NAME --node N [--namespace NS] [--service-account SA] [--labels k=v,...] [-- COMMAND...]
        pod del NAME [--namespace NS]
        pod label NAME [--namespace NS] k=v|k- ...
                                 change a running pod's labels (e.g. istio.io/dataplane-mode=ambient enrols it)
        exec POD [--namespace NS] -- COMMAND...
        apply -f FILE            Kubernetes v1 Services (into the lab's API server; clusterIP allocated from
                                 198.19.S.0/24 if not given) and Istio policy YAML (AuthorizationPolicy,
                                 PeerAuthentication) into the control plane
        delete -f FILE           remove what apply -f FILE added
      state: /run/ambient-lab (AMBIENT_LAB_DIR)""";

  private LabMain() {}

  public static void main(String[] args) {
    System.exit(run(List.of(args)));
  }

  static int run(List<String> argv) {
    return run(argv, LabState.fromEnvironment());
  }

  static int run(List<String> argv, LabState state) {
    Deque<String> a = new ArrayDeque<>(argv);
    String cmd = a.isEmpty() ? "" : a.pop();
    if (cmd.isEmpty() || cmd.equals("-h") || cmd.equals("--help") || cmd.equals("help")) {
      System.out.println(USAGE);
      return cmd.isEmpty() ? 2 : 0;
    }
    try {
      return switch (cmd) {
        case "up" -> up(state, a);
        case "status" -> status(state);
        case "down" -> down(state);
        case "pod" -> pod(state, a);
        case "exec" -> exec(state, a);
        case "apply" -> apply(state, a);
        case "delete" -> delete(state, a);
        default -> usage("unknown lab command '" + cmd + "'");
      };
    } catch (UsageException e) {
      return usage(e.getMessage());
    } catch (Exception e) {
      System.err.println("lab: " + (e.getMessage() == null ? e.toString() : e.getMessage()));
      return 1;
    }
  }

  private static final class UsageException extends RuntimeException {
    UsageException(String m) {
      super(m);
    }
  }

  private static int usage(String problem) {
    System.err.println("lab: " + problem);
    System.err.println(USAGE);
    return 2;
  }

  static void requireRoot() {
    if (!"root".equals(ProcessHandle.current().info().user().orElse(""))) {
      throw new IllegalStateException("the lab needs root (it creates network namespaces, links and iptables rules);"
          + " run it with sudo");
    }
  }

  private static String value(Deque<String> a, String flag) {
    if (a.isEmpty() || a.peek().startsWith("--")) {
      throw new UsageException(flag + " needs a value");
    }
    return a.pop();
  }

  private static int up(LabState state, Deque<String> a) throws Exception {
    int nodes = 2;
    @Nullable Path config = null;
    boolean foreground = false;
    boolean nodeProcesses = true;
    int subnet = 0;
    while (!a.isEmpty()) {
      String f = a.pop();
      switch (f) {
        case "--nodes" -> {
          String v = value(a, f);
          try {
            nodes = Integer.parseInt(v);
          } catch (NumberFormatException e) {
            throw new UsageException("--nodes wants a number, got '" + v + "'");
          }
        }
        case "--config" -> config = Path.of(value(a, f)).toAbsolutePath();
        case "--subnet" -> {
          String v = value(a, f);
          try {
            subnet = Integer.parseInt(v);
          } catch (NumberFormatException e) {
            throw new UsageException("--subnet wants a number 0..254, got '" + v + "'");
          }
        }
        case "--foreground" -> foreground = true;
        case "--no-node-processes" -> nodeProcesses = false;
        default -> throw new UsageException("unknown flag for lab up: " + f);
      }
    }
    if (nodes < 1 || nodes > LabLayout.MAX_NODES) {
      throw new UsageException("--nodes must be 1.." + LabLayout.MAX_NODES);
    }
    if (subnet < 0 || subnet + nodes > 255) {
      throw new UsageException("--subnet must leave room for " + nodes + " pod subnets above it (0.."
          + (255 - nodes) + ")");
    }
    requireRoot();
    if (state.info().isPresent()) {
      throw new IllegalStateException("a lab is already running (state in " + state.dir()
          + "); see ./ambient lab status, or ./ambient lab down");
    }
    return foreground ? runForeground(state, new Lab.Options(nodes, config, nodeProcesses, subnet))
        : runDetached(state, nodes, config, nodeProcesses, subnet);
  }

  /** The supervisor: brings the lab up, then holds it until SIGTERM/SIGINT and tears it down. */
  private static int runForeground(LabState state, Lab.Options options) throws Exception {
    CountDownLatch done = new CountDownLatch(1);
    Lab lab = Lab.up(state, Install.fromEnvironment(), options, m -> System.out.println("lab: " + m));
    Thread hook = new Thread(() -> {
      System.out.println("lab: shutting down");
      lab.close();
      done.countDown();
    }, "lab-shutdown");
    Runtime.getRuntime().addShutdownHook(hook);
    System.out.println("lab: ready (prefix " + lab.layout().prefix() + ", supervisor pid "
        + ProcessHandle.current().pid()
        + "); ./ambient lab down stops it");
    done.await();
    return 0;
  }

  /** Starts {@code lab up --foreground} in its own session and waits until it is ready. */
  private static int runDetached(LabState state, int nodes, @Nullable Path config, boolean nodeProcesses,
      int subnet) throws Exception {
    Path log = supervisorLog(state);
    List<String> cmd = new ArrayList<>(List.of("setsid", ProcessHandle.current().info().command().orElse("java")));
    cmd.addAll(ManagementFactory.getRuntimeMXBean().getInputArguments());
    cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), LabMain.class.getName(), "up", "--foreground",
        "--nodes", Integer.toString(nodes), "--subnet", Integer.toString(subnet)));
    if (config != null) {
      cmd.addAll(List.of("--config", config.toString()));
    }
    if (!nodeProcesses) {
      cmd.add("--no-node-processes");
    }
    Files.createDirectories(log.getParent());
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile())
        .redirectInput(new File("/dev/null"));
    pb.environment().put("AMBIENT_LAB_DIR", state.dir().toString());
    Process p = pb.start();
    System.out.println("lab: starting (supervisor pid " + p.pid() + ", log " + log + ")");
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(180);
    while (System.nanoTime() < deadline) {
      Optional<LabState.Info> info = state.info();
      if (info.isPresent() && info.get().pid() == p.pid()) {
        System.out.print(Files.readString(log));
        return 0;
      }
      if (p.waitFor(250, TimeUnit.MILLISECONDS)) {
        System.err.print(Files.readString(log));
        System.err.println("lab: the supervisor exited with " + p.exitValue() + " before the lab was ready");
        return 1;
      }
    }
    Sh.kill(p.toHandle());
    System.err.print(Files.readString(log));
    System.err.println("lab: not ready after 180 s; stopped it");
    return 1;
  }

  static Path supervisorLog(LabState state) {
    return state.dir().resolveSibling(state.dir().getFileName() + ".log");
  }

  private static int status(LabState state) throws Exception {
    requireRoot();
    Optional<LabState.Info> maybe = state.info();
    if (maybe.isEmpty()) {
      System.out.println("no lab is running (start one with ./ambient lab up)");
      return 1;
    }
    LabState.Info info = maybe.get();
    LabLayout l = info.layout();
    boolean alive = ProcessHandle.of(info.pid()).map(ProcessHandle::isAlive).orElse(false);
    System.out.printf("lab %s: supervisor pid %d %s (log %s)%n", l.prefix(), info.pid(),
        alive ? "running" : "NOT RUNNING (run ./ambient lab down to clean up)",
        supervisorLog(state));
    System.out.printf("API server %s, control plane %s, config %s%n", info.apiServer(), info.xdsAddress(),
        state.configDir());
    for (int i = 0; i < l.nodes(); i++) {
      System.out.printf("%s: netns %s, address %s, pods %s%n", l.nodeName(i), l.nodeNetns(i), l.nodeAddress(i),
          l.podCidr(i));
    }
    Path procs = state.dir().resolve("processes.txt");
    if (Files.exists(procs)) {
      Files.readAllLines(procs).forEach(line -> System.out.println("  " + line));
    }
    List<LabState.Pod> pods = state.pods();
    System.out.println(pods.isEmpty() ? "no pods (./ambient lab pod add NAME --node node-0)" : "pods:");
    Map<String, Pod> live = Map.of();
    if (alive && !pods.isEmpty()) {
      try (KubernetesClient k8s = Pods.client(info.apiServer())) {
        live = new java.util.HashMap<>();
        for (Pod p : k8s.pods().inAnyNamespace().list().getItems()) {
          live.put(p.getMetadata().getNamespace() + "/" + p.getMetadata().getName(), p);
        }
      }
    }
    for (LabState.Pod p : pods) {
      Pod k = live.get(p.namespace() + "/" + p.name());
      String redirection = k == null || k.getMetadata().getAnnotations() == null ? "-"
          : k.getMetadata().getAnnotations().getOrDefault(PodWorkloads.REDIRECTION, "-");
      Path published = state.configDir().resolve("pods").resolve(p.namespace() + "." + p.name() + ".yaml");
      String protocol = Files.exists(published) ? Files.readAllLines(published).stream()
          .filter(s -> s.strip().startsWith("protocol:")).map(s -> s.strip().substring(9).strip())
          .findFirst().orElse("?")
          : "not published";
      System.out.printf("  %s/%s on %s: %s, redirection %s, workload %s%n", p.namespace(), p.name(),
          l.nodeName(p.node()), l.podAddress(p.node(), p.octet()), redirection, protocol);
    }
    return 0;
  }

  private static int down(LabState state) throws Exception {
    requireRoot();
    Optional<LabState.Info> info = Optional.empty();
    try {
      info = state.info();
    } catch (IllegalStateException e) {
      System.out.println("lab: " + e.getMessage());
    }
    Optional<LabState.Starting> starting = info.isPresent() ? Optional.empty() : state.starting();
    if (info.isPresent()) {
      stopSupervisor(info.get().pid(), "");
    } else if (starting.isPresent()) {
      stopSupervisor(starting.get().pid(), " (it was still starting)");
    }
    // What the supervisor did not remove (it was killed, or crashed, or stopped while starting): this lab's
    // namespaces, processes and links; with no state at all, every lab's leftovers.
    String prefix = info.map(i -> i.layout().prefix()).or(() -> starting.map(LabState.Starting::prefix))
        .map(p -> p + "-").orElse(LabLayout.PREFIX_BASE);
    List<String> removed = LabNetwork.removeAll(prefix);
    removed.forEach(r -> System.out.println("lab: removed leftover " + r));
    state.delete();
    System.out.println("lab: down");
    return 0;
  }

  /** Whether {@code pid} runs this class (its full /proc cmdline: ProcessHandle.Info may cut a long class path). */
  private static boolean runsLabMain(long pid) {
    try {
      return new String(Files.readAllBytes(Path.of("/proc", Long.toString(pid), "cmdline")),
          java.nio.charset.StandardCharsets.UTF_8).contains(LabMain.class.getName());
    } catch (java.io.IOException e) {
      return false;
    }
  }

  /** SIGTERM to a lab supervisor (only if that pid still runs {@code LabMain}), SIGKILL after 60 s. */
  private static void stopSupervisor(long pid, String why) throws Exception {
    Optional<ProcessHandle> sup = ProcessHandle.of(pid).filter(ProcessHandle::isAlive).filter(h -> runsLabMain(pid));
    if (sup.isEmpty()) {
      return;
    }
    System.out.println("lab: stopping supervisor pid " + pid + why);
    sup.get().destroy();
    try {
      sup.get().onExit().get(60, TimeUnit.SECONDS);
    } catch (java.util.concurrent.TimeoutException e) {
      System.out.println("lab: supervisor did not stop in 60 s; killing it");
      Sh.kill(sup.get());
    }
  }

  private static int pod(LabState state, Deque<String> a) throws Exception {
    String sub = a.isEmpty() ? "" : a.pop();
    String name = a.isEmpty() || a.peek().startsWith("--") ? "" : a.pop();
    if (name.isEmpty()) {
      throw new UsageException("lab pod " + sub + " needs a pod NAME");
    }
    String node = null;
    String ns = "default";
    String sa = "default";
    Map<String, String> labels = Map.of();
    List<String> command = List.of();
    List<String> changes = new ArrayList<>();
    while (!a.isEmpty()) {
      String f = a.pop();
      if (sub.equals("label") && !f.startsWith("-")) {
        changes.add(f);
        continue;
      }
      switch (f) {
        case "--node" -> node = value(a, f);
        case "--namespace", "-n" -> ns = value(a, f);
        case "--service-account" -> sa = value(a, f);
        case "--labels" -> labels = Pods.labels(value(a, f));
        case "--" -> {
          command = List.copyOf(a);
          a.clear();
        }
        default -> throw new UsageException("unknown flag for lab pod " + sub + ": " + f);
      }
    }
    if (!sub.equals("add") && !sub.equals("del") && !sub.equals("label")) {
      throw new UsageException("lab pod add|del|label, not '" + sub + "'");
    }
    Map<String, @Nullable String> labelChanges = Map.of();
    if (sub.equals("label")) {
      try {
        labelChanges = Pods.labelChanges(changes);
      } catch (IllegalArgumentException e) {
        throw new UsageException("lab pod label NAME [--namespace NS] k=v|k- ...: " + e.getMessage());
      }
    }
    if (sub.equals("add") && node == null) {
      throw new UsageException("lab pod add needs --node (node-0, node-1, ...)");
    }
    requireRoot();
    Pods pods = new Pods(state, Install.fromEnvironment());
    switch (sub) {
      case "add" -> {
        String ip = pods.add(new Pods.Spec(name, java.util.Objects.requireNonNull(node), ns, sa, labels, command));
        System.out.println("pod " + ns + "/" + name + " on " + node + ": " + ip
            + (command.isEmpty() ? "" : " (running " + String.join(" ", command) + ", log "
                + state.podLog(ns, name) + ")"));
        return 0;
      }
      case "del" -> {
        pods.delete(ns, name);
        System.out.println("pod " + ns + "/" + name + " deleted");
        return 0;
      }
      case "label" -> {
        Map<String, String> now = pods.label(ns, name, labelChanges);
        System.out.println("pod " + ns + "/" + name + " labels: " + now);
        return 0;
      }
      default -> throw new IllegalStateException("unreachable: " + sub);
    }
  }

  private static int exec(LabState state, Deque<String> a) throws Exception {
    String name = a.isEmpty() ? "" : a.pop();
    String ns = "default";
    if (!a.isEmpty() && (a.peek().equals("--namespace") || a.peek().equals("-n"))) {
      a.pop();
      ns = value(a, "--namespace");
    }
    if (name.isEmpty() || a.isEmpty() || !a.pop().equals("--")) {
      throw new UsageException("lab exec POD [--namespace NS] -- COMMAND...");
    }
    requireRoot();
    return new Pods(state, Install.fromEnvironment()).exec(ns, name, List.copyOf(a));
  }

  private static int apply(LabState state, Deque<String> a) throws Exception {
    if (a.size() != 2 || !a.pop().equals("-f")) {
      throw new UsageException("lab apply -f FILE");
    }
    requireRoot();
    state.require();
    Manifests.Applied r = Manifests.apply(Path.of(a.pop()), state);
    r.warnings().forEach(w -> System.out.println("warning: " + w));
    r.services().forEach(s -> System.out.println("service: " + s));
    if (r.policy() != null) {
      System.out.println("applied: " + r.policy() + " (the control plane pushes it to every ztunnel)");
    }
    return 0;
  }

  private static int delete(LabState state, Deque<String> a) throws Exception {
    if (a.size() != 2 || !a.pop().equals("-f")) {
      throw new UsageException("lab delete -f FILE");
    }
    requireRoot();
    state.require();
    List<String> gone = Manifests.delete(Path.of(a.pop()), state);
    System.out.println(gone.isEmpty() ? "nothing to delete" : "deleted: " + String.join(", ", gone));
    return 0;
  }
}
