package dev.ambient.cni.agent.k8s;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ambient.cni.agent.CmdAdd;
import dev.ambient.cni.agent.Enrollment;
import dev.ambient.cni.agent.PodSetup;
import dev.ambient.cni.agent.RedirectionAnnotation;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The agent's watches against fabric8's mock API server in CRUD mode. */
@EnableKubernetesMockClient(crud = true)
class AmbientPodControllerTest {
  static KubernetesClient client;
  static KubernetesMockServer server;

  final List<String> events = new CopyOnWriteArrayList<>();
  final CountDownLatch release = new CountDownLatch(1);
  volatile boolean gateSetup;
  volatile String failSetup = "";
  AmbientPodController controller;

  final PodSetup setup = new PodSetup() {
    @Override
    public void addToMesh(CmdAdd pod) throws Exception {
      events.add("add " + pod.podNamespace() + "/" + pod.podName() + " netns=" + pod.netns());
      if (gateSetup) {
        assertThat(release.await(10, TimeUnit.SECONDS)).isTrue();
      }
      if (!failSetup.isEmpty()) {
        throw new IllegalStateException(failSetup);
      }
    }

    @Override
    public void removeFromMesh(String namespace, String name, boolean deleted) {
      events.add("remove " + namespace + "/" + name + " deleted=" + deleted);
    }
  };

  @BeforeEach
  void objects() {
    client.namespaces().resource(new NamespaceBuilder().withNewMetadata().withName("shop").endMetadata().build()).create();
    client.pods().inNamespace("shop").resource(pod("web-1", "node-a")).create();
    client.pods().inNamespace("shop").resource(pod("web-2", "node-b")).create();
  }

  @AfterEach
  void stop() {
    if (controller != null) {
      controller.close();
    }
    client.pods().inAnyNamespace().delete();
    client.namespaces().withName("shop").delete();
  }

  static Pod pod(String name, String node) {
    return new PodBuilder().withNewMetadata().withName(name).withNamespace("shop").endMetadata()
        .withNewSpec().withNodeName(node).addNewContainer().withName("app").withImage("app").endContainer().endSpec()
        .withNewStatus().withPhase("Running").addNewPodIP("198.18.1.7").endStatus().build();
  }

  void start() {
    controller = new AmbientPodController(client, "node-a", Enrollment.defaults(), setup, false, false).start();
  }

  String annotation(String pod) {
    Map<String, String> a = client.pods().inNamespace("shop").withName(pod).get().getMetadata().getAnnotations();
    String v = a == null ? null : a.get(RedirectionAnnotation.KEY);
    return v == null ? "" : v; // the mock keeps a merge-patched null as a null value
  }

  void labelNamespace(String value) {
    client.namespaces().withName("shop").edit(n -> new NamespaceBuilder(n).editMetadata()
        .addToLabels(Enrollment.DATAPLANE_MODE, value).endMetadata().build());
  }

  @Test
  void labellingTheNamespaceEnrolsPodsOfThisNodePendingThenEnabled() {
    gateSetup = true;
    start();

    labelNamespace("ambient");

    Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> annotation("web-1").equals("pending"));
    assertThat(events).containsExactly("add shop/web-1 netns=");
    release.countDown();
    Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> annotation("web-1").equals("enabled"));
    assertThat(annotation("web-2")).isEmpty(); // another node's pod
  }

  @Test
  void removingTheLabelUnenrolsAndRemovesTheAnnotation() {
    start();
    labelNamespace("ambient");
    Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> annotation("web-1").equals("enabled"));

    client.namespaces().withName("shop").edit(n -> new NamespaceBuilder(n).editMetadata()
        .removeFromLabels(Enrollment.DATAPLANE_MODE).endMetadata().build());

    Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> annotation("web-1").isEmpty());
    assertThat(events).containsExactly("add shop/web-1 netns=", "remove shop/web-1 deleted=false");
  }

  @Test
  void failedSetupLeavesThePodPendingAndIsRetried() {
    failSetup = "no ztunnel connected";
    start();
    labelNamespace("ambient");

    Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> events.size() >= 2);
    assertThat(annotation("web-1")).isEqualTo("pending");
    failSetup = "";
    Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> annotation("web-1").equals("enabled"));
  }

  @Test
  void cniAddRefusesAPodThatIsNotEligibleAndEnrolsOneThatIs() throws Exception {
    start();
    CmdAdd add = new CmdAdd("/var/run/netns/t1", "web-1", "shop", List.of());
    assertThatThrownBy(() -> controller.addToMesh(add)).hasMessageContaining("unexpectedly not eligible");

    client.pods().inNamespace("shop").withName("web-1").edit(p -> new PodBuilder(p).editMetadata()
        .addToLabels(Enrollment.DATAPLANE_MODE, "ambient").endMetadata().build());
    Awaitility.await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
      events.removeIf(e -> e.endsWith("netns=")); // the informer path may get there first
      controller.addToMesh(add);
    });
    assertThat(events).contains("add shop/web-1 netns=/var/run/netns/t1");
    assertThat(annotation("web-1")).isEqualTo("enabled");
  }

  @Test
  void cniAddWaitsForLaggingInformersToShowThePodAndItsNamespace() throws Exception {
    start();
    // The plugin found the pod in the API server, but this agent's watches have not delivered it (nor its new
    // namespace) yet: the ADD waits for them instead of failing the pod.
    Thread creator = Thread.ofPlatform().start(() -> {
      try {
        Thread.sleep(500);
      } catch (InterruptedException e) {
        return;
      }
      client.namespaces().resource(new NamespaceBuilder().withNewMetadata().withName("late")
          .addToLabels(Enrollment.DATAPLANE_MODE, "ambient").endMetadata().build()).create();
      client.pods().inNamespace("late").resource(new PodBuilder(pod("web-3", "node-a")).editMetadata()
          .withNamespace("late").endMetadata().build()).create();
    });
    try {
      controller.addToMesh(new CmdAdd("/var/run/netns/t3", "web-3", "late", List.of()));
    } finally {
      creator.join();
      client.pods().inNamespace("late").delete();
      client.namespaces().withName("late").delete();
    }
    assertThat(events).contains("add late/web-3 netns=/var/run/netns/t3");
  }
}
