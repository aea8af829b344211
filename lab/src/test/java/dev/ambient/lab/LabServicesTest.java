package dev.ambient.lab;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ambient.xds.config.ConfigDirectory;
import dev.ambient.xds.config.ConfigLoadResult;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Services as istiod publishes them to ztunnel (istio-ambient spec §4.3–§4.4), as tables. */
class LabServicesTest {
  private static final LabServices.ServiceFacts WEB = new LabServices.ServiceFacts("shop", "web",
      Map.of("app", "web"), List.of(new LabServices.Port(80, 8080), new LabServices.Port(443, 0)),
      List.of("198.19.0.2"));

  /** pod namespace, pod labels, then the expected services map. */
  static Stream<Arguments> selection() {
    String key = "shop/web.shop.svc.cluster.local";
    return Stream.of(
        Arguments.of("selected; the named target port is omitted", "shop", Map.of("app", "web", "v", "1"),
            Map.of(key, Map.of(80, 8080))),
        Arguments.of("label value differs", "shop", Map.of("app", "api"), Map.of()),
        Arguments.of("label missing (a label change took it away)", "shop", Map.of(), Map.of()),
        Arguments.of("other namespace, same labels", "other", Map.of("app", "web"), Map.of()));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("selection")
  void aServiceSelectsPodsOfItsNamespaceByLabels(String name, String namespace, Map<String, String> labels,
      Map<String, Map<Integer, Integer>> expected) {
    assertThat(LabServices.servicesOf(namespace, labels, List.of(WEB))).isEqualTo(expected);
  }

  @Test
  void aServiceWithoutSelectorSelectsNoPod() {
    var selectorless = new LabServices.ServiceFacts("shop", "ext", Map.of(), List.of(new LabServices.Port(80, 80)),
        List.of());
    assertThat(LabServices.servicesOf("shop", Map.of("app", "web"), List.of(selectorless))).isEmpty();
  }

  static Stream<Arguments> targetPorts() {
    return Stream.of(Arguments.of(null, 80), Arguments.of(new IntOrString(8080), 8080),
        Arguments.of(new IntOrString("8081"), 8081), Arguments.of(new IntOrString("http"), 0));
  }

  @ParameterizedTest(name = "{0} -> {1}")
  @MethodSource("targetPorts")
  void targetPortAbsentNumberOrName(@Nullable IntOrString target, int expected) {
    assertThat(LabServices.targetPort(80, target)).isEqualTo(expected);
  }

  private static Service service(String name, @Nullable String clusterIp, int port, @Nullable Integer target) {
    var b = new ServiceBuilder().withNewMetadata().withName(name).withNamespace("shop").endMetadata()
        .withNewSpec().withSelector(Map.of("app", "web")).withClusterIP(clusterIp).addNewPort().withPort(port)
        .withTargetPort(target == null ? null : new IntOrString(target)).endPort().endSpec();
    return b.build();
  }

  static Stream<Arguments> problems() {
    return Stream.of(
        Arguments.of(service("web", null, 80, 8080), null),
        Arguments.of(service("web", "198.19.7.7", 80, null), null),
        Arguments.of(service("Web_1", null, 80, 8080), "metadata.name must be a DNS label"),
        Arguments.of(service("web", null, 0, 8080), "port 0 is not a port"),
        Arguments.of(service("web", null, 80, 70000), "targetPort 70000 is not a port"),
        Arguments.of(service("web", "203.0.113.5", 80, 8080), "clusterIP 203.0.113.5 is not an IPv4 address in "
            + "198.18.0.0/15"),
        Arguments.of(new ServiceBuilder().withNewMetadata().withName("web").endMetadata().withNewSpec().endSpec()
            .build(), "spec.ports is empty"));
  }

  @ParameterizedTest(name = "{1}")
  @MethodSource("problems")
  void badServicesAreRefusedInPlainWords(Service svc, @Nullable String problem) {
    List<String> p = LabServices.problems(svc);
    if (problem == null) {
      assertThat(p).isEmpty();
    } else {
      assertThat(p).singleElement().asString().contains(problem);
    }
  }

  @Test
  void factsReadClusterIpsPortsAndSelector() {
    LabServices.ServiceFacts f = LabServices.facts(service("web", "198.19.3.4", 80, 8080));
    assertThat(f.hostname()).isEqualTo("web.shop.svc.cluster.local");
    assertThat(f.vips()).containsExactly("198.19.3.4");
    assertThat(f.ports()).containsExactly(new LabServices.Port(80, 8080));
    assertThat(f.selector()).containsExactly(Map.entry("app", "web"));
    assertThat(LabServices.facts(service("web", "None", 80, 8080)).vips()).as("headless").isEmpty();
  }

  @Test
  void vipsAreAllocatedFromTheLabsRangeSkippingUsedOnesUntilItIsFull() {
    assertThat(LabServices.allocateVip(180, Set.of())).isEqualTo("198.19.180.2");
    assertThat(LabServices.allocateVip(180, Set.of("198.19.180.2", "198.19.180.3"))).isEqualTo("198.19.180.4");
    Set<String> all = Set.copyOf(IntStream.rangeClosed(2, 254).mapToObj(i -> "198.19.0." + i).toList());
    assertThatThrownBy(() -> LabServices.allocateVip(0, all)).hasMessageContaining("no free service VIP");
  }

  @Test
  void theServiceAndAPodsServicesMapLoadInTheControlPlane(@TempDir Path dir) throws Exception {
    var pod = new PodWorkloads.PodFacts("shop", "web-1", "web", "node-0", List.of("198.18.1.5"), Map.of("app", "web"),
        Map.of(PodWorkloads.REDIRECTION, "enabled"), "Running", true, false, false);
    Files.writeString(dir.resolve("svc.yaml"), WEB.yaml());
    Files.writeString(dir.resolve("pod.yaml"), PodWorkloads.of(pod,
        LabServices.servicesOf(pod.namespace(), pod.labels(), List.of(WEB))).orElseThrow().yaml());

    ConfigLoadResult r = ConfigDirectory.of(dir).load();

    assertThat(r.errors()).isEmpty();
    var service = r.snapshot().addresses().get("shop/web.shop.svc.cluster.local").getService();
    assertThat(service.getHostname()).isEqualTo("web.shop.svc.cluster.local");
    assertThat(service.getAddressesList()).hasSize(1);
    assertThat(service.getPortsList()).extracting(p -> p.getServicePort() + ":" + p.getTargetPort())
        .containsExactly("80:8080", "443:0");
    var workload = r.snapshot().addresses().get("Kubernetes//Pod/shop/web-1").getWorkload();
    assertThat(workload.getServicesMap()).containsOnlyKeys("shop/web.shop.svc.cluster.local");
    assertThat(workload.getServicesMap().get("shop/web.shop.svc.cluster.local").getPortsList())
        .extracting(p -> p.getServicePort() + ":" + p.getTargetPort()).containsExactly("80:8080");
  }
}
