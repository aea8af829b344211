package dev.ambient.lab;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/**
 * The whole in-pod mesh on one machine (root only; never skips): one 2-node lab with the real node agent and
 * shared-mode ztunnel per node (their main classes from the reactor, exec'd in the node namespaces), pods added
 * through the real {@code istio-cni} plugin the agent installed. The scenarios run in order against that one lab:
 * capture, HBONE same and cross node, an L4 deny policy, pod deletion, passthrough both ways, a node agent restart
 * with a tampered rule, a ztunnel restart. The ztunnels run with paranoid Netty leak detection; their logs must
 * show no leak.
 */
@Tag("netns")
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class LabMeshNetnsTest {
  private static final String NS = "e2e";
  private static final int PORT = 18080;
  private static final String TD = "spiffe://cluster.local/ns/" + NS + "/sa/";
  /** Sends each client its own address as the server sees it, then closes. */
  private static final String ECHO_PEER = "import socket\n"
      + "s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
      + "s.bind(('0.0.0.0', " + PORT + ")); s.listen()\n"
      + "while True:\n  c,a=s.accept(); c.sendall(a[0].encode()); c.close()\n";

  @TempDir static Path tmp;
  private static Lab lab;
  private static LabState state;
  private static Pods pods;
  private static LabLayout layout;
  private static String server;
  private static String near;
  private static String far;
  private static String intruder;
  private static String plain;
  private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

  @BeforeAll
  static void up() throws Exception {
    assertThat(ProcessHandle.current().info().user().orElse("?"))
        .as("netns tests need root (exclude with -DexcludedGroups=netns)").isEqualTo("root");
    int subnet = freeSubnet();
    state = new LabState(tmp.resolve("state"));
    Install install = testInstall(tmp);
    lab = Lab.up(state, install, new Lab.Options(2, null, true, subnet), m -> {});
    layout = lab.layout();
    assertThat(lab.skipped()).as("node processes").isEmpty();
    pods = new Pods(state, install);
    server = pods.add(new Pods.Spec("echo", "node-0", NS, "echo", Map.of("app", "echo"),
        List.of("python3", "-c", ECHO_PEER)));
    near = pods.add(new Pods.Spec("near", "node-0", NS, "client", Map.of("app", "near"), List.of()));
    far = pods.add(new Pods.Spec("far", "node-1", NS, "client", Map.of("app", "far"), List.of()));
    intruder = pods.add(new Pods.Spec("intruder", "node-1", NS, "intruder", Map.of("app", "intruder"), List.of()));
    plain = pods.add(new Pods.Spec("plain", "node-1", NS, "plain",
        Map.of("app", "plain", Pods.DATAPLANE_MODE, "none"), List.of("python3", "-c", ECHO_PEER)));
  }

  @AfterAll
  static void down() throws Exception {
    if (lab == null) {
      return;
    }
    List<String> leaks = new ArrayList<>();
    for (int i = 0; i < layout.nodes(); i++) {
      Path log = state.nodeDir(layout, i).resolve("ztunnel.log");
      if (Files.exists(log)) {
        Files.readAllLines(log).stream().filter(l -> l.contains("LEAK:")).forEach(leaks::add);
      }
    }
    String prefix = layout.prefix();
    List<Lab.NodeProcess> processes = lab.processes();
    lab.close();
    LabNetwork.removeAll(prefix + "-");
    assertThat(leaks).as("Netty leaks reported by the ztunnels").isEmpty();
    assertThat(processes).as("node processes stopped").noneMatch(p -> p.process().isAlive());
    assertThat(LabNetwork.namespaces()).noneMatch(n -> n.startsWith(prefix));
    assertThat(LabNetwork.links()).noneMatch(n -> n.startsWith(prefix));
  }

  /** A subnet S in 180..240 whose 198.18.S-S+2 no address or route of this machine uses (other labs may run). */
  private static int freeSubnet() {
    return FreeSubnets.pick(180, 240, 3, 3);
  }


  /**
   * The node agent and ztunnel as the reactor built them: {@code java} with the test classpath. The agent installs a
   * one-line {@code istio-cni} script that runs the plugin's main class, and the lab execs that.
   */
  private static Install testInstall(Path dir) throws Exception {
    String java = ProcessHandle.current().info().command().orElseThrow();
    Path pluginClasses = Path.of(Class.forName("dev.ambient.cni.plugin.Main").getProtectionDomain().getCodeSource()
        .getLocation().toURI());
    List<String> plugin = List.of(java, "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-cp",
        pluginClasses.toString(), "dev.ambient.cni.plugin.Main");
    Path script = dir.resolve("istio-cni");
    Files.writeString(script, "#!/bin/sh\nexec " + String.join(" ", plugin) + "\n");
    Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwxr-xr-x"));
    String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
    List<String> jvm = List.of(java, "--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow",
        "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Xmx256m", "-cp", cp);
    List<String> agent = new ArrayList<>(jvm);
    agent.addAll(List.of("-Dlogback.configurationFile=logback-cni-agent.xml", "dev.ambient.cni.agent.AgentMain",
        "--plugin-launcher", script.toString()));
    List<String> ztunnel = new ArrayList<>(jvm);
    ztunnel.addAll(List.of("-Dlogback.configurationFile=logback-ztunnel.xml", "-Dio.netty.leakDetection.level=paranoid",
        "dev.ambient.ztunnel.runtime.ZtunnelMain"));
    return new Install(Path.of("."), plugin, Optional.empty(), agent, ztunnel);
  }

  @Test
  @Order(1)
  void aFreshPodIsCapturedRulesAnnotationAndZtunnelProxy() throws Exception {
    String netns = layout.podNetns(NS, "near");
    String rules = Sh.run("ip", "netns", "exec", netns, "nft", "list", "ruleset").output()
        + Sh.run("ip", "netns", "exec", netns, "iptables-save").output();
    assertThat(rules).as("redirection rules in the pod netns").contains("15001").contains("15006");
    try (KubernetesClient k8s = Pods.client(state.require().apiServer())) {
      Pod pod = k8s.pods().inNamespace(NS).withName("near").get();
      assertThat(pod.getMetadata().getAnnotations()).containsEntry(PodWorkloads.REDIRECTION, "enabled");
    }
    await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> assertThat(proxies(0))
        .containsEntry(NS + "/near (service account client)", "Up")
        .containsEntry(NS + "/echo (service account echo)", "Up"));
    assertThat(proxies(1)).containsEntry(NS + "/far (service account client)", "Up")
        .doesNotContainKey(NS + "/plain (service account plain)");
    // The proxy's listeners are bound inside the pod's own namespace.
    assertThat(Sh.check("ip", "netns", "exec", netns, "ss", "-Htln"))
        .contains(":15001").contains(":15006").contains(":15008");
    assertThat(Sh.check("ip", "netns", "exec", layout.podNetns(NS, "plain"), "ss", "-Htln")).doesNotContain(":15008");
    assertThat(Files.readString(state.configDir().resolve("pods/" + NS + ".near.yaml"))).contains("protocol: HBONE");
  }

  @Test
  @Order(2)
  void capturedToCapturedSameNodeAndCrossNodeOverHboneWithTheClientsPrincipal() throws Exception {
    assertThat(awaitAnswer("near", server)).as("same node: the server sees the client's pod IP").isEqualTo(near);
    assertThat(awaitAnswer("far", server)).as("cross node").isEqualTo(far);

    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
      List<String> m = metrics(0);
      for (String client : List.of("near", "far")) {
        assertThat(sum(m, "istio_tcp_connections_opened_total", "reporter=\"destination\"",
            "destination_workload=\"echo\"", "source_workload=\"" + client + "\"",
            "connection_security_policy=\"mutual_tls\"", "source_principal=\"" + TD + "client\"",
            "destination_principal=\"" + TD + "echo\"")).as("mTLS connections from %s", client).isPositive();
      }
    });
    assertThat(sum(metrics(1), "istio_tcp_connections_opened_total", "reporter=\"source\"", "source_workload=\"far\"",
        "destination_workload=\"echo\"", "connection_security_policy=\"mutual_tls\""))
        .as("the client side's ztunnel (node-1) reports the cross-node connection").isPositive();
  }

  @Test
  @Order(3)
  void anL4AuthorizationPolicyDeniesASecondClientByPrincipal() throws Exception {
    assertThat(awaitAnswer("intruder", server)).as("allowed before the policy").isEqualTo(intruder);

    Path policy = tmp.resolve("deny-intruder.yaml");
    Files.writeString(policy, """
        apiVersion: security.istio.io/v1
        kind: AuthorizationPolicy
        metadata: {name: deny-intruder, namespace: %s}
        spec:
          selector: {matchLabels: {app: echo}}
          action: DENY
          rules:
          - from:
            - source: {principals: ["cluster.local/ns/%s/sa/intruder"]}
        """.formatted(NS, NS));
    PolicyFiles.apply(policy, state.configDir());

    await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(500))
        .until(() -> request("intruder", server).isEmpty());
    assertThat(request("far", server)).as("the other client is still allowed").contains(far);
    assertThat(request("near", server)).contains(near);
    assertThat(sum(metrics(0), "istio_tcp_connections_failed_total", "reporter=\"destination\"",
        "response_flags=\"DENY\"", "source_principal=\"" + TD + "intruder\"", "source_workload=\"intruder\"",
        "destination_workload=\"echo\""))
        .as("the server side counts the denied connection").isPositive();
  }

  @Test
  @Order(4)
  void deletingAPodDrainsItsProxy() throws Exception {
    String ip = pods.add(new Pods.Spec("short-lived", "node-1", NS, "client", Map.of(), List.of()));
    String info = NS + "/short-lived (service account client)";
    await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> assertThat(proxies(1)).containsEntry(info, "Up"));
    assertThat(awaitAnswer("short-lived", server)).isEqualTo(ip);
    double stoppedBefore = sum(metrics(1), "workload_manager_proxies_stopped_total");

    pods.delete(NS, "short-lived");

    await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
      assertThat(proxies(1)).doesNotContainKey(info);
      assertThat(sum(metrics(1), "workload_manager_proxies_stopped_total")).isEqualTo(stoppedBefore + 1);
    });
    assertThat(Files.readString(state.nodeDir(layout, 1).resolve("ztunnel.log")))
        .containsPattern("proxy stopped for pod \\S+ \\(" + java.util.regex.Pattern.quote(info) + "\\)");
    assertThat(LabNetwork.namespaces()).doesNotContain(layout.podNetns(NS, "short-lived"));
    assertThat(proxies(1)).containsKey(NS + "/far (service account client)");
  }

  @Test
  @Order(5)
  void capturedToUncapturedIsPassthroughAndUncapturedToCapturedGoesThrough15006() throws Exception {
    assertThat(awaitAnswer("near", plain)).as("captured -> uncaptured keeps the client's IP").isEqualTo(near);
    assertThat(awaitAnswer("plain", server)).as("uncaptured -> captured").isEqualTo(plain);

    List<String> m = metrics(0);
    assertThat(sum(m, "istio_tcp_connections_opened_total", "reporter=\"source\"", "source_workload=\"near\"",
        "destination_workload=\"plain\"", "connection_security_policy=\"unknown\""))
        .as("near's ztunnel passed it through in plain TCP").isPositive();
    assertThat(sum(m, "istio_tcp_connections_opened_total", "reporter=\"destination\"", "source_workload=\"plain\"",
        "destination_workload=\"echo\"", "connection_security_policy=\"unknown\""))
        .as("echo's ztunnel took it on its plaintext inbound (15006)").isPositive();
  }

  @Test
  @Order(6)
  void aNodeAgentRestartKeepsTrafficFlowingAndRepairsATamperedRule() throws Exception {
    String netns = layout.podNetns(NS, "far");
    Sh.check("ip", "netns", "exec", netns, "nft", "flush", "chain", "inet", "istio-ambient-nat", "istio-output");
    assertThat(Sh.check("ip", "netns", "exec", netns, "nft", "list", "ruleset")).doesNotContain("redirect to :15001");

    AtomicBoolean stop = new AtomicBoolean();
    AtomicInteger ok = new AtomicInteger();
    List<String> failures = new java.util.concurrent.CopyOnWriteArrayList<>();
    Thread traffic = Thread.ofPlatform().start(() -> {
      while (!stop.get()) {
        Optional<String> r = request("near", server);
        if (r.isPresent() && r.get().equals(near)) {
          ok.incrementAndGet();
        } else {
          failures.add(r.orElse("no answer"));
        }
        sleep(200);
      }
    });
    try {
      lab.restart(1, Lab.AGENT);
    } finally {
      stop.set(true);
      traffic.join();
    }

    assertThat(failures).as("requests on node-0 while node-1's agent restarted").isEmpty();
    assertThat(ok.get()).isPositive();
    assertThat(Sh.check("ip", "netns", "exec", netns, "nft", "list", "ruleset"))
        .as("the restarted agent re-applied the pod's rules").contains("redirect to :15001");
    double before = mtlsFromFar();
    assertThat(awaitAnswer("far", server)).isEqualTo(far);
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(mtlsFromFar()).isGreaterThan(before));
  }

  @Test
  @Order(7)
  void aZtunnelRestartReplaysTheSnapshotAndRecapturesThePods() throws Exception {
    long oldPid = lab.processes().stream().filter(p -> p.node().equals("node-0") && p.what().equals(Lab.ZTUNNEL))
        .findFirst().orElseThrow().process().pid();

    Lab.NodeProcess now = lab.restart(0, Lab.ZTUNNEL);

    assertThat(now.process().pid()).isNotEqualTo(oldPid);
    assertThat(proxies(0)).containsOnly(Map.entry(NS + "/near (service account client)", "Up"),
        Map.entry(NS + "/echo (service account echo)", "Up"));
    assertThat(sum(metrics(0), "workload_manager_active_proxy_count")).isEqualTo(2);
    assertThat(awaitAnswer("far", server)).isEqualTo(far);
    assertThat(awaitAnswer("near", server)).isEqualTo(near);
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(sum(metrics(0),
        "istio_tcp_connections_opened_total", "reporter=\"destination\"", "destination_workload=\"echo\"",
        "source_workload=\"far\"", "connection_security_policy=\"mutual_tls\"")).isPositive());
    assertThat(request("intruder", server)).as("the policy is back with the new ztunnel").isEmpty();
  }

  private static final String SRV = "srv";
  private static final int WEB_OTHER_PORT = 18081;
  /** Answers each client with its address as seen, on PORT and WEB_OTHER_PORT, and logs "port peer" per accept. */
  private static final String LOGGING_ECHO = "import socket, threading\n"
      + "def serve(port):\n"
      + "  s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
      + "  s.bind(('0.0.0.0', port)); s.listen()\n"
      + "  while True:\n"
      + "    c,a=s.accept(); print(port, a[0], flush=True); c.sendall(a[0].encode()); c.close()\n"
      + "for p in (" + PORT + ", " + WEB_OTHER_PORT + "): threading.Thread(target=serve, args=(p,)).start()\n";
  private static String web;
  private static String outsider;

  /** {@code srv/web} on node-0 (captured, two ports, logging) and {@code other/outsider} on node-1 (captured). */
  private static synchronized void webPods() throws Exception {
    if (web == null) {
      web = pods.add(new Pods.Spec("web", "node-0", SRV, "web", Map.of("app", "web"), List.of("python3", "-c",
          LOGGING_ECHO)));
      outsider = pods.add(new Pods.Spec("outsider", "node-1", "other", "outsider", Map.of("app", "outsider"),
          List.of()));
    }
  }

  /** How many connections the pod's app accepted from {@code ip} (its log: "port peer" lines). */
  private static long accepted(String ns, String pod, String ip) throws IOException {
    Path log = state.podLog(ns, pod);
    return Files.exists(log) ? Files.readAllLines(log).stream().filter(l -> l.endsWith(" " + ip)).count() : 0;
  }

  private static Path yaml(String name, String text) throws IOException {
    return Files.writeString(tmp.resolve(name), text);
  }

  @Test
  @Order(8)
  void capturedToCapturedByServiceVipSameNodeAndCrossNodeOverHbone() throws Exception {
    Path file = yaml("echo-service.yaml", """
        apiVersion: v1
        kind: Service
        metadata: {name: echo, namespace: %s}
        spec:
          selector: {app: echo}
          ports:
          - {name: tcp, port: 80, targetPort: %d}
        """.formatted(NS, PORT));
    Manifests.Applied applied = Manifests.apply(file, state);
    assertThat(applied.policy()).as("a Services-only file writes no policy").isNull();
    String vip;
    try (KubernetesClient k8s = Pods.client(state.require().apiServer())) {
      vip = k8s.services().inNamespace(NS).withName("echo").get().getSpec().getClusterIP();
    }
    assertThat(vip).as("allocated from the lab's range").startsWith("198.19." + layout.subnet() + ".");
    String key = "\"" + NS + "/echo." + NS + ".svc.cluster.local\": {80: " + PORT + "}";
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(
        Files.readString(state.configDir().resolve("pods/" + NS + ".echo.yaml"))).contains(key));
    assertThat(Files.readString(state.configDir().resolve("pods/" + NS + ".near.yaml"))).doesNotContain("services:");
    double nearBefore = mtlsTo(0, "echo", "near");
    double farBefore = mtlsTo(0, "echo", "far");

    assertThat(awaitAnswer(NS, "near", vip, 80)).as("same node by VIP: the server sees the client's pod IP")
        .isEqualTo(near);
    assertThat(awaitAnswer(NS, "far", vip, 80)).as("cross node by VIP").isEqualTo(far);

    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
      assertThat(mtlsTo(0, "echo", "near")).as("mTLS with near's principal").isGreaterThan(nearBefore);
      assertThat(mtlsTo(0, "echo", "far")).as("mTLS with far's principal").isGreaterThan(farBefore);
    });

    // Endpoints follow pod labels: a pod that gains the selected label gets the service, and loses it again.
    Path intruderFile = state.configDir().resolve("pods/" + NS + ".intruder.yaml");
    pods.label(NS, "intruder", Map.of("app", "echo"));
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(Files.readString(intruderFile))
        .contains(key));
    pods.label(NS, "intruder", Map.of("app", "intruder"));
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(Files.readString(intruderFile))
        .doesNotContain("services:"));
    assertThat(awaitAnswer(NS, "far", vip, 80)).isEqualTo(far);
  }

  @Test
  @Order(9)
  void strictPeerAuthenticationRefusesPlaintextButNotMtls() throws Exception {
    webPods();
    assertThat(awaitAnswer(NS, "plain", web, PORT)).as("uncaptured -> captured is allowed (permissive)")
        .isEqualTo(plain);
    Path strict = yaml("strict-srv.yaml", """
        apiVersion: security.istio.io/v1
        kind: PeerAuthentication
        metadata: {name: strict, namespace: %s}
        spec:
          mtls: {mode: STRICT}
        """.formatted(SRV));
    Manifests.apply(strict, state);
    try {
      awaitRefused(NS, "plain", web, PORT);
      long seen = accepted(SRV, "web", plain);
      assertThat(request(NS, "plain", web, PORT)).as("plaintext under STRICT").isEmpty();
      assertThat(accepted(SRV, "web", plain)).as("no connection reached the app").isEqualTo(seen);
      assertThat(awaitAnswer(NS, "near", web, PORT)).as("captured -> captured (mTLS) still works").isEqualTo(near);
    } finally {
      assertThat(Manifests.delete(strict, state)).hasSize(1);
    }
    assertThat(awaitAnswer(NS, "plain", web, PORT)).as("plaintext again once the policy is gone").isEqualTo(plain);
  }

  @Test
  @Order(10)
  void anAllowPolicyByNamespaceAdmitsOnlyThatNamespace() throws Exception {
    webPods();
    assertThat(awaitAnswer("other", "outsider", web, PORT)).as("allowed before the policy").isEqualTo(outsider);
    Path policy = yaml("allow-e2e.yaml", """
        apiVersion: security.istio.io/v1
        kind: AuthorizationPolicy
        metadata: {name: allow-e2e, namespace: %s}
        spec:
          selector: {matchLabels: {app: web}}
          action: ALLOW
          rules:
          - from:
            - source: {namespaces: ["%s"]}
        """.formatted(SRV, NS));
    Manifests.apply(policy, state);
    try {
      awaitRefused("other", "outsider", web, PORT);
      assertThat(request(NS, "near", web, PORT)).as("same node, namespace %s", NS).contains(near);
      assertThat(request(NS, "far", web, PORT)).as("cross node, namespace %s", NS).contains(far);
      assertThat(sum(metrics(0), "istio_tcp_connections_failed_total", "reporter=\"destination\"",
          "response_flags=\"DENY\"", "source_workload=\"outsider\"", "destination_workload=\"web\""))
          .as("the server side counts the denied connection").isPositive();
    } finally {
      Manifests.delete(policy, state);
    }
    assertThat(awaitAnswer("other", "outsider", web, PORT)).isEqualTo(outsider);
  }

  @Test
  @Order(11)
  void aDenyPolicyOnOnePortLeavesTheOtherPortOpen() throws Exception {
    webPods();
    assertThat(awaitAnswer(NS, "near", web, WEB_OTHER_PORT)).as("allowed before the policy").isEqualTo(near);
    Path policy = yaml("deny-other-port.yaml", """
        apiVersion: security.istio.io/v1
        kind: AuthorizationPolicy
        metadata: {name: deny-other-port, namespace: %s}
        spec:
          selector: {matchLabels: {app: web}}
          action: DENY
          rules:
          - to:
            - operation: {ports: ["%d"]}
        """.formatted(SRV, WEB_OTHER_PORT));
    Manifests.apply(policy, state);
    try {
      awaitRefused(NS, "near", web, WEB_OTHER_PORT);
      long seen = accepted(SRV, "web", near);
      assertThat(request(NS, "far", web, WEB_OTHER_PORT)).as("denied cross node too").isEmpty();
      assertThat(request(NS, "near", web, PORT)).as("the other port of the same server").contains(near);
      assertThat(accepted(SRV, "web", near)).as("only the allowed port reached the app").isEqualTo(seen + 1);
    } finally {
      Manifests.delete(policy, state);
    }
  }

  @Test
  @Order(12)
  void aRunningPodIsEnrolledAndUnenrolledByItsLabelWithoutARestart() throws Exception {
    String ns = "legacy";
    try (KubernetesClient k8s = Pods.client(state.require().apiServer())) {
      k8s.namespaces().resource(new io.fabric8.kubernetes.api.model.NamespaceBuilder().withNewMetadata()
          .withName(ns).endMetadata().build()).create();
    }
    String late = pods.add(new Pods.Spec("late", "node-1", ns, "default", Map.of("app", "late"),
        List.of("python3", "-c", LOGGING_ECHO)));
    String netns = layout.podNetns(ns, "late");
    String info = ns + "/late (service account default)";
    Path published = state.configDir().resolve("pods/" + ns + ".late.yaml");
    assertThat(awaitAnswer(NS, "near", late, PORT)).as("not in the mesh: plain TCP").isEqualTo(near);
    assertThat(proxies(1)).doesNotContainKey(info);
    String rulesBefore = redirection(netns);
    assertThat(rulesBefore).doesNotContain("15001");
    List<String> pids = Sh.check("ip", "netns", "pids", netns).lines().toList();
    assertThat(pids).as("the pod's app").isNotEmpty();

    pods.label(ns, "late", Map.of(Pods.DATAPLANE_MODE, "ambient"));

    await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
      assertThat(annotation(ns, "late")).isEqualTo("enabled");
      assertThat(proxies(1)).containsEntry(info, "Up");
      assertThat(redirection(netns)).contains("15001").contains("15006");
      assertThat(Files.readString(published)).contains("protocol: HBONE");
    });
    double mtlsBefore = mtlsTo(1, "late", "near");
    assertThat(awaitAnswer(NS, "near", late, PORT)).as("enrolled: the server still sees the client's IP")
        .isEqualTo(near);
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(mtlsTo(1, "late", "near"))
        .as("now over HBONE with near's principal").isGreaterThan(mtlsBefore));

    Map<String, @org.jspecify.annotations.Nullable String> remove = new java.util.HashMap<>();
    remove.put(Pods.DATAPLANE_MODE, null);
    pods.label(ns, "late", remove);

    await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
      assertThat(annotation(ns, "late")).isNull();
      assertThat(proxies(1)).doesNotContainKey(info);
      assertThat(Files.readString(published)).contains("protocol: TCP");
    });
    assertThat(redirection(netns)).as("exactly the rules of before the enrolment").isEqualTo(rulesBefore);
    double plainBefore = plainFrom(0, "near", "late");
    double mtlsAfter = mtlsTo(1, "late", "near");
    assertThat(awaitAnswer(NS, "near", late, PORT)).as("un-enrolled: plain TCP again").isEqualTo(near);
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(plainFrom(0, "near", "late"))
        .as("near's ztunnel passes it through").isGreaterThan(plainBefore));
    assertThat(mtlsTo(1, "late", "near")).isEqualTo(mtlsAfter);
    assertThat(Sh.check("ip", "netns", "pids", netns).lines().toList()).as("the same process, never restarted")
        .isEqualTo(pids);
  }

  /** The pod's redirection state: nftables, iptables (without comments and counters) and ip rules. */
  private static String redirection(String netns) {
    String nft = Sh.check("ip", "netns", "exec", netns, "nft", "list", "ruleset");
    String ipt = Sh.run("ip", "netns", "exec", netns, "iptables-save").output().lines()
        .filter(l -> !l.startsWith("#")).map(l -> l.replaceAll("\\[\\d+:\\d+]", "")).reduce("", (a, b) -> a + b + "\n");
    String rules = Sh.check("ip", "netns", "exec", netns, "ip", "rule", "show");
    return nft.replaceAll("counter packets \\d+ bytes \\d+", "counter") + "---\n" + ipt + "---\n" + rules;
  }

  private static @org.jspecify.annotations.Nullable String annotation(String ns, String pod) {
    try (KubernetesClient k8s = Pods.client(state.require().apiServer())) {
      Map<String, String> a = k8s.pods().inNamespace(ns).withName(pod).get().getMetadata().getAnnotations();
      return a == null ? null : a.get(PodWorkloads.REDIRECTION);
    }
  }

  /**
   * Connections the destination's ztunnel (on {@code node}) took over mTLS from {@code client} (near or far), with the
   * client's SPIFFE identity as the source principal.
   */
  private static double mtlsTo(int node, String server, String client) throws Exception {
    return sum(metrics(node), "istio_tcp_connections_opened_total", "reporter=\"destination\"",
        "destination_workload=\"" + server + "\"", "source_workload=\"" + client + "\"",
        "connection_security_policy=\"mutual_tls\"", "source_principal=\"" + TD + "client\"");
  }

  /** Connections the client's ztunnel (on {@code node}) passed through in plain TCP. */
  private static double plainFrom(int node, String client, String server) throws Exception {
    return sum(metrics(node), "istio_tcp_connections_opened_total", "reporter=\"source\"",
        "source_workload=\"" + client + "\"", "destination_workload=\"" + server + "\"",
        "connection_security_policy=\"unknown\"");
  }

  private static double mtlsFromFar() throws Exception {
    return sum(metrics(0), "istio_tcp_connections_opened_total", "reporter=\"destination\"",
        "source_workload=\"far\"", "destination_workload=\"echo\"", "connection_security_policy=\"mutual_tls\"");
  }

  /** One TCP request from a pod to {@code ip:PORT}: the server's answer (the peer address it saw), if any. */
  private static Optional<String> request(String pod, String ip) {
    return request(NS, pod, ip, PORT);
  }

  /** One TCP request from pod {@code ns/pod} to {@code ip:port}: the server's answer, if any. */
  private static Optional<String> request(String ns, String pod, String ip, int port) {
    Sh.Result r = Sh.run("ip", "netns", "exec", layout.podNetns(ns, pod), "timeout", "5", "bash", "-c",
        "exec 3<>/dev/tcp/" + ip + "/" + port + " && cat <&3");
    String out = r.output().strip();
    return r.ok() && !out.isEmpty() ? Optional.of(out) : Optional.empty();
  }

  private static String awaitAnswer(String pod, String ip) {
    return awaitAnswer(NS, pod, ip, PORT);
  }

  private static String awaitAnswer(String ns, String pod, String ip, int port) {
    long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
    do {
      Optional<String> r = request(ns, pod, ip, port);
      if (r.isPresent()) {
        return r.get();
      }
      sleep(250);
    } while (System.nanoTime() < deadline);
    throw new AssertionError(ns + "/" + pod + " got no answer from " + ip + ":" + port + " in 20 s");
  }

  /** Waits until requests from {@code ns/pod} to {@code ip:port} get no answer (refused, reset or closed). */
  private static void awaitRefused(String ns, String pod, String ip, int port) {
    await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(500))
        .until(() -> request(ns, pod, ip, port).isEmpty());
  }

  /** The pod proxies in ztunnel's config dump: {@code workloadState} info ("ns/name (service account sa)") to state. */
  private static Map<String, String> proxies(int node) throws IOException {
    Map<String, String> out = new java.util.TreeMap<>();
    new ObjectMapper().readTree(configDump(node)).path("workloadState")
        .forEach(w -> out.put(w.path("info").asText(), w.path("state").asText()));
    return out;
  }

  /** ztunnel's {@code /config_dump} (admin, localhost only: read from inside the node namespace). */
  private static String configDump(int node) {
    return Sh.check("ip", "netns", "exec", layout.nodeNetns(node), "curl", "-sf", "--max-time", "5",
        "http://127.0.0.1:15000/config_dump");
  }

  /** ztunnel's Prometheus lines ({@code :15020}, reachable over the bridge). */
  private static List<String> metrics(int node) throws IOException, InterruptedException {
    HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(
        URI.create("http://" + layout.nodeAddress(node) + ":15020/metrics")).timeout(Duration.ofSeconds(5)).build(),
        HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).isEqualTo(200);
    return r.body().lines().toList();
  }

  /** The sum of the samples of {@code name} whose labels include every {@code k="v"} given. */
  static double sum(List<String> lines, String name, String... labels) {
    double total = 0;
    for (String l : lines) {
      if (!(l.startsWith(name + "{") || l.startsWith(name + " "))) {
        continue;
      }
      String labelPart = l.contains("{") ? l.substring(l.indexOf('{'), l.lastIndexOf('}') + 1) : "";
      if (java.util.Arrays.stream(labels).allMatch(s -> labelPart.contains("{" + s) || labelPart.contains("," + s))) {
        total += Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1));
      }
    }
    return total;
  }

  private static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
