package dev.ambient.cni.agent;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class EnrollmentTest {
  static final Map<String, String> AMBIENT = Map.of("istio.io/dataplane-mode", "ambient");
  static final Map<String, String> NONE = Map.of("istio.io/dataplane-mode", "none");

  static Stream<Arguments> table() {
    return Stream.of(
        Arguments.of("namespace label", pod("shop", Map.of(), Map.of(), false, "app"), AMBIENT, Enrollment.Decision.AMBIENT),
        Arguments.of("pod label", pod("shop", AMBIENT, Map.of(), false, "app"), Map.of(), Enrollment.Decision.AMBIENT),
        Arguments.of("no label", pod("shop", Map.of(), Map.of(), false, "app"), Map.of(), Enrollment.Decision.NO_SELECTOR_MATCH),
        Arguments.of("pod opts out", pod("shop", NONE, Map.of(), false, "app"), AMBIENT, Enrollment.Decision.OPTED_OUT),
        Arguments.of("kube-system wins over labels", pod("kube-system", AMBIENT, Map.of(), false, "app"), AMBIENT,
            Enrollment.Decision.EXCLUDED_NAMESPACE),
        Arguments.of("istio-system excluded", pod("istio-system", AMBIENT, Map.of(), false, "ztunnel"), AMBIENT,
            Enrollment.Decision.EXCLUDED_NAMESPACE),
        Arguments.of("host network", pod("shop", AMBIENT, Map.of(), true, "app"), AMBIENT, Enrollment.Decision.HOST_NETWORK),
        Arguments.of("sidecar container", pod("shop", Map.of(), Map.of(), false, "app", "istio-proxy"), AMBIENT,
            Enrollment.Decision.SIDECAR),
        Arguments.of("sidecar annotation", pod("shop", Map.of(), Map.of("sidecar.istio.io/status", "{}"), false, "app"),
            AMBIENT, Enrollment.Decision.SIDECAR),
        Arguments.of("other namespace label value", pod("shop", Map.of(), Map.of(), false, "app"),
            Map.of("istio.io/dataplane-mode", "sidecar"), Enrollment.Decision.NO_SELECTOR_MATCH));
  }

  static PodInfo pod(String ns, Map<String, String> labels, Map<String, String> annotations, boolean hostNetwork,
      String... containers) {
    return new PodInfo(ns, "p", labels, annotations, hostNetwork, List.of(containers));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("table")
  void decides(String name, PodInfo pod, Map<String, String> nsLabels, Enrollment.Decision expected) {
    assertThat(Enrollment.defaults().decide(pod, nsLabels)).isEqualTo(expected);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("table")
  void selectorsSurviveTheirJsonForm(String name, PodInfo pod, Map<String, String> nsLabels, Enrollment.Decision expected) {
    List<EnablementSelector> roundTripped = EnablementSelector.fromJson(
        dev.ambient.cni.json.Json.asList(dev.ambient.cni.json.Json.parse(
            dev.ambient.cni.json.Json.write(EnablementSelector.toJson(EnablementSelector.DEFAULTS)))));
    assertThat(new Enrollment(roundTripped, Enrollment.DEFAULT_EXCLUDED_NAMESPACES).decide(pod, nsLabels))
        .isEqualTo(expected);
  }

  @org.junit.jupiter.api.Test
  void namespaceSelectedIgnoresEmptyNamespaceSelectors() {
    Enrollment e = Enrollment.defaults();
    assertThat(e.namespaceSelected(AMBIENT)).isTrue();
    assertThat(e.namespaceSelected(Map.of())).isFalse();
  }

  @org.junit.jupiter.api.Test
  void annotationPatchesAreJsonMergePatches() {
    assertThat(RedirectionAnnotation.PENDING.patch())
        .isEqualTo("{\"metadata\":{\"annotations\":{\"ambient.istio.io/redirection\":\"pending\"}}}");
    assertThat(RedirectionAnnotation.ENABLED.patch())
        .isEqualTo("{\"metadata\":{\"annotations\":{\"ambient.istio.io/redirection\":\"enabled\"}}}");
    assertThat(RedirectionAnnotation.removalPatch())
        .isEqualTo("{\"metadata\":{\"annotations\":{\"ambient.istio.io/redirection\":null}}}");
  }
}
