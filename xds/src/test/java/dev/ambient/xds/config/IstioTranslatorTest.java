package dev.ambient.xds.config;

import static dev.ambient.xds.config.IstioTestObjects.objects;
import static org.assertj.core.api.Assertions.assertThat;

import dev.ambient.xds.config.IstioTranslator.Translation;
import dev.ambient.xds.config.IstioTranslator.WorkloadRef;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class IstioTranslatorTest {
  static final WorkloadRef A = new WorkloadRef("uid-a", "ns", Map.of("app", "a", "version", "v1"));
  static final WorkloadRef B = new WorkloadRef("uid-b", "ns", Map.of("app", "b"));
  static final WorkloadRef OTHER = new WorkloadRef("uid-o", "other", Map.of("app", "a"));

  static Translation translate(String yaml, String root) {
    return IstioTranslator.translate(objects(yaml), List.of(A, B, OTHER), root);
  }

  static String ap(String namespace, String name, String spec) {
    return """
        apiVersion: security.istio.io/v1
        kind: AuthorizationPolicy
        metadata: {name: %s, namespace: %s}
        spec: %s
        ---
        """.formatted(name, namespace, spec);
  }

  @Test
  void selectorPolicy_isListedOnMatchingWorkloadsInItsNamespace() {
    Translation t = translate(ap("ns", "p", "{selector: {matchLabels: {app: a}}}"), "istio-system");

    assertThat(t.policies()).containsOnlyKeys("ns/p");
    assertThat(t.workloadPolicies()).isEqualTo(Map.of("uid-a", List.of("ns/p")));
  }

  @Test
  void selectorPolicy_needsEveryLabel() {
    Translation t = translate(ap("ns", "p", "{selector: {matchLabels: {app: a, version: v2}}}"), "istio-system");

    assertThat(t.workloadPolicies()).isEmpty();
  }

  @Test
  void selectorPolicyInRootNamespace_appliesInEveryNamespace() {
    Translation t = translate(ap("istio-system", "p", "{selector: {matchLabels: {app: a}}}"), "istio-system");

    assertThat(t.workloadPolicies()).isEqualTo(Map.of("uid-a", List.of("istio-system/p"), "uid-o", List.of("istio-system/p")));
  }

  @Test
  void rootNamespace_isConfigurable() {
    Translation t = translate(ap("mesh-root", "p", "{}"), "mesh-root");

    assertThat(t.policies().get("mesh-root/p").getScope()).isEqualTo(dev.ambient.xds.api.security.Scope.GLOBAL);
  }

  @Test
  void namespacePolicy_isNotListedOnWorkloads() {
    assertThat(translate(ap("ns", "p", "{}"), "istio-system").workloadPolicies()).isEmpty();
  }

  @Test
  void unsentPolicy_isNotListedAndWarns() {
    Translation t = translate(ap("ns", "p", "{selector: {matchLabels: {app: a}}, action: CUSTOM}"), "istio-system");

    assertThat(t.policies()).isEmpty();
    assertThat(t.workloadPolicies()).isEmpty();
    assertThat(t.warnings()).isEqualTo(Map.of("AuthorizationPolicy/ns/p", List.of("ztunnel does not support the CUSTOM action")));
  }

  @Test
  void selectorAndPeerAuthenticationPolicies_areListedSorted() {
    Translation t = translate(ap("ns", "zz", "{selector: {matchLabels: {app: a}}}")
        + ap("ns", "aa", "{selector: {matchLabels: {app: a}}}")
        + PeerAuthenticationTranslatorTest.pa("ns", "n", "{mtls: {mode: STRICT}}"), "istio-system");

    assertThat(t.workloadPolicies().get("uid-a"))
        .containsExactly("istio-system/istio_converted_static_strict", "ns/aa", "ns/zz");
  }
}
