package dev.ambient.lab;

import io.fabric8.kubernetes.api.model.Namespace;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.jspecify.annotations.Nullable;

/**
 * {@code lab pod add|del} and {@code lab exec}, run as their own processes: the lab is the kubelet and
 * the container runtime. Adding a pod creates it in the API server (scheduled to its node), creates its
 * network namespace and interface (the primary network), execs the {@code istio-cni} plugin with
 * {@code CNI_COMMAND=ADD} exactly as a runtime does, and only then reports the pod Running and Ready
 * with its IP (which the publisher turns into a workload). A failed ADD removes the pod again.
 */
final class Pods {
  private static final Pattern DNS_LABEL = Pattern.compile("[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?");
  static final String DATAPLANE_MODE = "istio.io/dataplane-mode";
  /**
   * The node agent's record of a pod's netns path (docs/cni.md): the lab, as the runtime that made the namespace,
   * sets it at creation so that a pod enrolled later (a label change) is found without upstream's /proc scan.
   */
  static final String NETNS_ANNOTATION = "cni.ambient.dev/netns";

  /** What {@code lab pod add} was asked for. */
  record Spec(String name, String node, String namespace, String serviceAccount, Map<String, String> labels,
      List<String> command) {}

  private final LabState state;
  private final Install install;

  Pods(LabState state, Install install) {
    this.state = state;
    this.install = install;
  }

  static KubernetesClient client(String apiServer) {
    Config c = new ConfigBuilder(Config.empty()).withMasterUrl(apiServer).withNamespace("default")
        .withRequestTimeout(10_000).withConnectionTimeout(5_000).build();
    return new KubernetesClientBuilder().withConfig(c).build();
  }

  /** Parses {@code k=v,k2=v2}. */
  static Map<String, String> labels(String s) {
    Map<String, String> out = new LinkedHashMap<>();
    if (s.isBlank()) {
      return out;
    }
    for (String kv : s.split(",")) {
      int eq = kv.indexOf('=');
      if (eq <= 0) {
        throw new IllegalArgumentException("--labels wants k=v[,k=v...], got '" + kv + "'");
      }
      out.put(kv.substring(0, eq).strip(), kv.substring(eq + 1).strip());
    }
    return out;
  }

  static boolean isDnsLabel(String v) {
    return DNS_LABEL.matcher(v).matches();
  }

  static void checkName(String what, String v) {
    if (!isDnsLabel(v)) {
      throw new IllegalArgumentException(
          what + " must be a DNS label (lower case letters, digits, '-'), got '" + v + "'");
    }
  }

  /** Adds a pod; returns its IP. */
  String add(Spec spec) throws Exception {
    checkName("pod name", spec.name());
    checkName("namespace", spec.namespace());
    checkName("service account", spec.serviceAccount());
    LabState.Info info = state.require();
    LabLayout l = info.layout();
    int node = l.nodeIndex(spec.node());
    try (AutoCloseable lock = state.lock(); KubernetesClient k8s = client(info.apiServer())) {
      if (state.pod(spec.namespace(), spec.name()).isPresent()) {
        throw new IllegalArgumentException("pod " + spec.namespace() + "/" + spec.name() + " already exists");
      }
      int octet = freeOctet(node);
      String ip = l.podAddress(node, octet);
      String netns = l.podNetns(spec.namespace(), spec.name());
      ensureNamespace(k8s, spec.namespace());
      k8s.pods().inNamespace(spec.namespace()).resource(new PodBuilder()
          .withNewMetadata().withName(spec.name()).withNamespace(spec.namespace()).withLabels(spec.labels())
          .withUid(netns).addToAnnotations(NETNS_ANNOTATION, Path.of("/var/run/netns", netns).toString())
          .endMetadata()
          .withNewSpec().withNodeName(l.nodeName(node)).withServiceAccountName(spec.serviceAccount())
          .addNewContainer().withName("app").withImage("lab").endContainer().endSpec()
          .withNewStatus().withPhase("Pending").endStatus()
          .build()).create();
      LabState.Pod pod = new LabState.Pod(spec.namespace(), spec.name(), node, octet, netns);
      try {
        LabNetwork.addPod(l, node, netns, octet);
        state.writePod(pod);
        cni("ADD", l, pod);
        k8s.pods().inNamespace(spec.namespace()).withName(spec.name()).editStatus(p -> new PodBuilder(p)
            .editStatus().withPhase("Running").withPodIP(ip).addNewPodIP(ip).withHostIP(l.nodeAddress(node))
            .withStartTime(Instant.now().toString())
            .addNewCondition().withType("Ready").withStatus("True").endCondition().endStatus().build());
      } catch (Exception e) {
        k8s.pods().inNamespace(spec.namespace()).withName(spec.name()).delete();
        LabNetwork.removePod(netns);
        state.removePod(spec.namespace(), spec.name());
        throw e;
      }
      if (!spec.command().isEmpty()) {
        start(pod, spec.command());
      }
      return ip;
    }
  }

  /** Deletes a pod: from the API server, CNI DEL, its processes and namespace. */
  void delete(String namespace, String name) throws Exception {
    LabState.Info info = state.require();
    try (AutoCloseable lock = state.lock(); KubernetesClient k8s = client(info.apiServer())) {
      LabState.Pod pod = state.pod(namespace, name)
          .orElseThrow(() -> new IllegalArgumentException("no pod " + namespace + "/" + name + " in this lab"));
      k8s.pods().inNamespace(namespace).withName(name).delete();
      try {
        cni("DEL", info.layout(), pod);
      } finally {
        LabNetwork.removePod(pod.netns());
        state.removePod(namespace, name);
      }
    }
  }

  /**
   * Parses label changes as {@code kubectl label} takes them: {@code k=v} sets, {@code k-} removes (value null).
   */
  static Map<String, @Nullable String> labelChanges(List<String> args) {
    if (args.isEmpty()) {
      throw new IllegalArgumentException("no label change given (k=v to set, k- to remove)");
    }
    Map<String, @Nullable String> out = new LinkedHashMap<>();
    for (String a : args) {
      int eq = a.indexOf('=');
      if (eq > 0) {
        out.put(a.substring(0, eq), a.substring(eq + 1));
      } else if (a.length() > 1 && a.endsWith("-") && eq < 0) {
        out.put(a.substring(0, a.length() - 1), null);
      } else {
        throw new IllegalArgumentException("a label change is k=v or k-, got '" + a + "'");
      }
    }
    return out;
  }

  /**
   * Changes a running pod's labels in the API server (the pod source the node agent and the publisher watch); the
   * pod's namespace and processes are left alone. Returns the labels now on the pod.
   */
  Map<String, String> label(String namespace, String name, Map<String, @Nullable String> changes) throws Exception {
    LabState.Info info = state.require();
    state.pod(namespace, name)
        .orElseThrow(() -> new IllegalArgumentException("no pod " + namespace + "/" + name + " in this lab"));
    try (KubernetesClient k8s = client(info.apiServer())) {
      Pod now = k8s.pods().inNamespace(namespace).withName(name).edit(p -> {
        Map<String, String> labels = new LinkedHashMap<>(
            p.getMetadata().getLabels() == null ? Map.of() : p.getMetadata().getLabels());
        changes.forEach((k, v) -> {
          if (v == null) {
            labels.remove(k);
          } else {
            labels.put(k, v);
          }
        });
        return new PodBuilder(p).editMetadata().withLabels(labels).endMetadata().build();
      });
      return now.getMetadata().getLabels() == null ? Map.of() : now.getMetadata().getLabels();
    }
  }

  /** Runs {@code command} in a pod's namespace with this terminal; returns its exit code. */
  int exec(String namespace, String name, List<String> command) throws IOException, InterruptedException {
    LabState.Pod pod = state.pod(namespace, name)
        .orElseThrow(() -> new IllegalArgumentException("no pod " + namespace + "/" + name + " in this lab"));
    if (command.isEmpty()) {
      throw new IllegalArgumentException("lab exec POD -- COMMAND...: no command");
    }
    return new ProcessBuilder(Sh.inNetns(pod.netns(), command)).inheritIO().start().waitFor();
  }

  /** Starts the pod's long-running command detached ({@code setsid}), output in the pod's log. */
  private void start(LabState.Pod pod, List<String> command) throws IOException {
    List<String> cmd = new ArrayList<>(List.of("setsid"));
    cmd.addAll(Sh.inNetns(pod.netns(), command));
    Path log = state.podLog(pod.namespace(), pod.name());
    new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile())
        .redirectInput(new File("/dev/null")).start();
  }

  private void cni(String command, LabLayout l, LabState.Pod pod) {
    Path nodeDir = state.nodeDir(l, pod.node());
    Path binDir = nodeDir.resolve("cni-bin");
    String conflist = chosenConflist(nodeDir.resolve("cni-net.d"));
    var entry = CniInvocation.pluginEntry(conflist)
        .orElseGet(() -> CniInvocation.defaultEntry(nodeDir.resolve("run")));
    var sandbox = new CniInvocation.Sandbox(pod.namespace(), pod.name(), pod.netns(),
        Path.of("/var/run/netns", pod.netns()), l.podAddress(pod.node(), pod.octet()), l.podGateway(pod.node()));
    Map<String, String> env = new LinkedHashMap<>(CniInvocation.env(command, sandbox, binDir));
    install.pluginJar().ifPresent(j -> env.put("ISTIO_CNI_JAR", j.toString()));
    List<String> plugin = install.plugin(binDir);
    long start = System.nanoTime();
    Sh.Result r = Sh.run(Sh.inNetns(l.nodeNetns(pod.node()), plugin), env,
        CniInvocation.stdin(conflist, entry, sandbox), Duration.ofSeconds(60));
    recordTiming(command, pod, System.nanoTime() - start, r.exitCode());
    if (!r.ok()) {
      throw new IllegalStateException("CNI " + command + " of " + pod.namespace() + "/" + pod.name()
          + " failed (istio-cni exit " + r.exitCode() + "): " + CniInvocation.errorText(r.output()));
    }
  }

  /**
   * With {@code AMBIENT_LAB_CNI_TIMINGS=FILE} (for {@code ./ambient bench pods}), appends
   * {@code COMMAND NS/NAME MICROS EXIT} per plugin exec: the wall time as the runtime sees it (the exec
   * into the node's namespace included).
   */
  private static void recordTiming(String command, LabState.Pod pod, long nanos, int exit) {
    String file = System.getenv("AMBIENT_LAB_CNI_TIMINGS");
    if (file == null || file.isEmpty()) {
      return;
    }
    try {
      Files.writeString(Path.of(file), command + " " + pod.namespace() + "/" + pod.name() + " " + nanos / 1000 + " "
          + exit + "\n", java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.APPEND);
    } catch (IOException e) {
      System.err.println("lab: cannot record the CNI timing in " + file + ": " + e.getMessage());
    }
  }

  /** The config a runtime would choose: the lexically first {@code *.conf}/{@code *.conflist}. */
  static String chosenConflist(Path netDir) {
    try (Stream<Path> s = Files.list(netDir)) {
      Path f = s.filter(p -> p.toString().endsWith(".conf") || p.toString().endsWith(".conflist"))
          .sorted().findFirst().orElse(null);
      return f == null ? CniInvocation.PRIMARY_CONFLIST : Files.readString(f);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read the CNI config in " + netDir, e);
    }
  }

  private int freeOctet(int node) {
    Set<Integer> used = new HashSet<>();
    state.pods().stream().filter(p -> p.node() == node).forEach(p -> used.add(p.octet()));
    for (int o = LabLayout.FIRST_POD_OCTET; o <= LabLayout.LAST_POD_OCTET; o++) {
      if (!used.contains(o)) {
        return o;
      }
    }
    throw new IllegalStateException("node " + node + " has no free pod address left");
  }

  /** Creates the namespace, labelled {@code istio.io/dataplane-mode=ambient} (the lab is a mesh). */
  private static void ensureNamespace(KubernetesClient k8s, String name) {
    if (k8s.namespaces().withName(name).get() == null) {
      Namespace ns = new NamespaceBuilder().withNewMetadata().withName(name)
          .addToLabels(DATAPLANE_MODE, "ambient").endMetadata().build();
      k8s.namespaces().resource(ns).create();
    }
  }
}
