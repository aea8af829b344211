package dev.ambient.lab;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The lab for real (root only; never skips): namespaces, links, the mock API server, the control plane,
 * the publisher and the real {@code istio-cni} plugin main class. No node agent or ztunnel is started
 * ({@code nodeProcesses=false}); each test uses its own subnet so that runs do not collide.
 */
@Tag("netns")
class LabNetnsTest {
  /** Sends each client its own address as the server sees it, then closes. */
  private static final String ECHO_PEER = "import socket\n"
      + "s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
      + "s.bind(('0.0.0.0', 18080)); s.listen()\n"
      + "while True:\n  c,a=s.accept(); c.sendall(a[0].encode()); c.close()\n";

  @TempDir Path tmp;
  private final int subnet = FreeSubnets.pick(100, 170, 10, 4);
  private Lab lab;
  private LabState state;

  @BeforeAll
  static void needsRoot() {
    assertThat(ProcessHandle.current().info().user().orElse("?"))
        .as("netns tests need root (exclude with -DexcludedGroups=netns)").isEqualTo("root");
  }

  @AfterEach
  void cleanUp() {
    if (lab != null) {
      String prefix = lab.layout().prefix();
      lab.close();
      LabNetwork.removeAll(prefix + "-");
    }
  }

  private Lab up(int nodes) throws Exception {
    state = new LabState(tmp.resolve("state"));
    lab = Lab.up(state, testInstall(), new Lab.Options(nodes, null, false, subnet), m -> {});
    return lab;
  }

  /** The real plugin main class from the cni-plugin module's classes, exec'd as the launcher would. */
  private static Install testInstall() throws Exception {
    Path classes = Path.of(Class.forName("dev.ambient.cni.plugin.Main").getProtectionDomain().getCodeSource()
        .getLocation().toURI());
    String java = ProcessHandle.current().info().command().orElseThrow();
    return new Install(Path.of("."), List.of(java, "-XX:TieredStopAtLevel=1", "-cp", classes.toString(),
        "dev.ambient.cni.plugin.Main"), Optional.empty());
  }

  @Test
  void upCreatesNodesApiServerAndControlPlaneAndCloseLeavesNothingBehind() throws Exception {
    up(2);
    LabLayout l = lab.layout();
    LabState.Info info = state.require();

    assertThat(LabNetwork.namespaces()).contains(l.nodeNetns(0), l.nodeNetns(1));
    assertThat(LabNetwork.links()).contains(l.bridge(), l.hostVeth(0), l.hostVeth(1));
    assertThat(Sh.check("ip", "-n", l.nodeNetns(1), "-4", "-o", "addr", "show", "dev", "eth0"))
        .contains(l.nodeAddress(1) + "/24");
    assertThat(Sh.check("ip", "-n", l.nodeNetns(0), "route", "show", l.podCidr(1)))
        .contains("via " + l.nodeAddress(1));
    assertThat(info.apiServer()).startsWith("http://" + l.bridgeAddress() + ":");
    assertThat(info.xdsAddress()).isEqualTo(l.bridgeAddress() + ":15012");
    try (KubernetesClient k8s = Pods.client(info.apiServer())) {
      assertThat(k8s.pods().inAnyNamespace().list().getItems()).isEmpty();
    }
    assertThat(state.dir().resolve("control-plane/root-cert.pem")).exists();
    assertThat(state.nodeDir(l, 1).resolve("run/istio-cni-kubeconfig")).content().contains(info.apiServer());
    // The node namespace reaches the API server the plugin and agent use.
    assertThat(Sh.run("ip", "netns", "exec", l.nodeNetns(1), "bash", "-c",
        "exec 3<>/dev/tcp/" + l.bridgeAddress() + "/15012").ok()).isTrue();

    lab.close();

    assertThat(LabNetwork.namespaces()).noneMatch(n -> n.startsWith(l.prefix()));
    assertThat(LabNetwork.links()).noneMatch(n -> n.startsWith(l.prefix()));
    assertThat(Sh.check("ip", "route", "show")).doesNotContain(l.podCidr(0));
    assertThat(state.dir()).doesNotExist();
  }

  @Test
  void podsGetTheirAddressesTalkAcrossNodesWithoutTheMeshAndArePublished() throws Exception {
    up(2);
    LabLayout l = lab.layout();
    Pods pods = new Pods(state, testInstall());
    Map<String, String> noMesh = Map.of(Pods.DATAPLANE_MODE, "none", "app", "echo");

    String serverIp = pods.add(new Pods.Spec("server", "node-1", "default", "echo", noMesh,
        List.of("python3", "-c", ECHO_PEER)));
    String sameNodeIp = pods.add(new Pods.Spec("near", "node-1", "default", "default", noMesh, List.of()));
    String otherNodeIp = pods.add(new Pods.Spec("far", "node-0", "default", "default", noMesh, List.of()));

    assertThat(serverIp).isEqualTo(l.podAddress(1, 2));
    assertThat(sameNodeIp).isEqualTo(l.podAddress(1, 3));
    assertThat(otherNodeIp).isEqualTo(l.podAddress(0, 2));
    assertThat(Sh.check("ip", "-n", l.podNetns("default", "far"), "-4", "-o", "addr", "show", "dev", "eth0"))
        .contains(otherNodeIp + "/32");
    // No NAT anywhere: the server sees each client's pod address.
    assertThat(peerSeenBy("far", serverIp)).isEqualTo(otherNodeIp);
    assertThat(peerSeenBy("near", serverIp)).isEqualTo(sameNodeIp);

    Path published = state.configDir().resolve("pods/default.far.yaml");
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(published).content()
        .contains("uid: \"Kubernetes//Pod/default/far\"").contains(otherNodeIp).contains("protocol: TCP")
        .contains("node: \"node-0\""));

    // What the node agent does once the pod is captured: the publisher turns it into an HBONE workload.
    try (KubernetesClient k8s = Pods.client(state.require().apiServer())) {
      k8s.pods().inNamespace("default").withName("far").edit(p -> new PodBuilder(p).editMetadata()
          .addToAnnotations(PodWorkloads.REDIRECTION, "enabled").endMetadata().build());
    }
    await().atMost(Duration.ofSeconds(10))
        .untilAsserted(() -> assertThat(published).content().contains("protocol: HBONE"));

    pods.delete("default", "far");

    assertThat(LabNetwork.namespaces()).doesNotContain(l.podNetns("default", "far"));
    assertThat(state.pod("default", "far")).isEmpty();
    await().atMost(Duration.ofSeconds(10)).until(() -> !Files.exists(published));
  }

  @Test
  void anAmbientPodFailsClosedWhenTheNodeHasNoAgent() throws Exception {
    up(1);
    LabLayout l = lab.layout();
    Pods pods = new Pods(state, testInstall());

    assertThatThrownBy(() -> pods.add(new Pods.Spec("meshed", "node-0", "default", "default", Map.of(), List.of())))
        .hasMessageContaining("CNI ADD of default/meshed failed")
        .hasMessageContaining("failed to contact node Istio CNI agent");

    assertThat(LabNetwork.namespaces()).doesNotContain(l.podNetns("default", "meshed"));
    assertThat(state.pods()).isEmpty();
    try (KubernetesClient k8s = Pods.client(state.require().apiServer())) {
      assertThat(k8s.pods().inNamespace("default").withName("meshed").get()).isNull();
      assertThat(k8s.namespaces().withName("default").get().getMetadata().getLabels())
          .containsEntry(Pods.DATAPLANE_MODE, "ambient");
    }
  }

  @Test
  void downRemovesWhatAKilledSupervisorLeftBehind() throws Exception {
    // What a supervisor killed with SIGKILL leaves: its state, namespaces, links and a pod's process.
    LabLayout l = LabLayout.random(1, subnet);
    state = new LabState(tmp.resolve("state"));
    Process gone = new ProcessBuilder("true").start();
    gone.waitFor();
    state.writeInfo(
        new LabState.Info(l, "http://" + l.bridgeAddress() + ":1", l.bridgeAddress() + ":15012", gone.pid()));
    try {
      LabNetwork.create(l);
      LabNetwork.addPod(l, 0, l.podNetns("default", "orphan"), 2);
      Process sleeper = new ProcessBuilder(Sh.inNetns(l.podNetns("default", "orphan"), List.of("sleep", "300")))
          .start();

      int code = LabMain.run(List.of("down"), state);

      assertThat(code).isZero();
      assertThat(sleeper.waitFor(10, java.util.concurrent.TimeUnit.SECONDS)).as("pod process killed").isTrue();
      assertThat(LabNetwork.namespaces()).noneMatch(n -> n.startsWith(l.prefix()));
      assertThat(LabNetwork.links()).noneMatch(n -> n.startsWith(l.prefix()));
      assertThat(state.dir()).doesNotExist();
    } finally {
      LabNetwork.removeAll(l.prefix() + "-");
    }
  }

  private String peerSeenBy(String client, String serverIp) {
    long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
    Sh.Result r;
    do {
      r = Sh.run("ip", "netns", "exec", lab.layout().podNetns("default", client), "bash", "-c",
          "exec 3<>/dev/tcp/" + serverIp + "/18080 && cat <&3");
      if (r.ok()) {
        return r.output().strip();
      }
      try {
        Thread.sleep(200);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        break;
      }
    } while (System.nanoTime() < deadline);
    throw new AssertionError("no answer from " + serverIp + ": " + r.output());
  }
}
