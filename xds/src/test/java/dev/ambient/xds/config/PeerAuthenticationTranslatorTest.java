package dev.ambient.xds.config;

import static dev.ambient.xds.config.IstioTestObjects.objects;
import static dev.ambient.xds.config.IstioTestObjects.proto;
import static org.assertj.core.api.Assertions.assertThat;

import dev.ambient.xds.api.security.Authorization;
import dev.ambient.xds.config.IstioTranslator.Translation;
import dev.ambient.xds.config.IstioTranslator.WorkloadRef;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class PeerAuthenticationTranslatorTest {
  static final String ROOT = "istio-system";
  static final String STATIC = "istio-system/istio_converted_static_strict";
  static final WorkloadRef A = new WorkloadRef("uid-a", "ns", Map.of("app", "a"));
  static final WorkloadRef B = new WorkloadRef("uid-b", "ns", Map.of("app", "b"));
  static final WorkloadRef OTHER = new WorkloadRef("uid-o", "other", Map.of("app", "a"));
  static final List<WorkloadRef> WORKLOADS = List.of(A, B, OTHER);

  static String pa(String namespace, String name, String spec) {
    return """
        apiVersion: security.istio.io/v1
        kind: PeerAuthentication
        metadata: {name: %s, namespace: %s}
        spec: %s
        ---
        """.formatted(name, namespace, spec);
  }

  static Translation translate(String yaml) {
    return IstioTranslator.translate(objects(yaml), WORKLOADS, ROOT);
  }

  @Test
  void peerAuthentication_any_publishesTheStaticStrictPolicy() {
    Translation t = translate(pa("ns", "p", "{mtls: {mode: PERMISSIVE}}"));

    assertThat(t.policies()).containsOnlyKeys(STATIC);
    assertThat(t.policies().get(STATIC)).isEqualTo(proto(Authorization.newBuilder(), """
        name: 'istio_converted_static_strict' namespace: 'istio-system' scope: WORKLOAD_SELECTOR action: DENY
        rules { clauses { matches { not_principals { presence {} } } } }"""));
    assertThat(t.workloadPolicies()).isEmpty();
  }

  @Test
  void peerAuthentication_none_publishesNothing() {
    assertThat(IstioTranslator.translate(List.of(), WORKLOADS, ROOT).policies()).isEmpty();
  }

  @Test
  void peerAuthentication_meshWideStrict_makesEveryWorkloadListStaticStrict() {
    Translation t = translate(pa(ROOT, "default", "{mtls: {mode: STRICT}}"));

    assertThat(t.workloadPolicies()).isEqualTo(Map.of(
        "uid-a", List.of(STATIC), "uid-b", List.of(STATIC), "uid-o", List.of(STATIC)));
  }

  @Test
  void peerAuthentication_namespaceStrict_appliesOnlyToThatNamespace() {
    Translation t = translate(pa("ns", "default", "{mtls: {mode: STRICT}}"));

    assertThat(t.workloadPolicies()).containsOnlyKeys("uid-a", "uid-b");
  }

  @Test
  void peerAuthentication_namespacePermissive_overridesMeshStrict() {
    Translation t = translate(pa(ROOT, "m", "{mtls: {mode: STRICT}}") + pa("ns", "n", "{mtls: {mode: PERMISSIVE}}"));

    assertThat(t.workloadPolicies()).containsOnlyKeys("uid-o");
  }

  @Test
  void peerAuthentication_namespaceUnset_inheritsMeshStrict() {
    Translation t = translate(pa(ROOT, "m", "{mtls: {mode: STRICT}}") + pa("ns", "n", "{mtls: {mode: UNSET}}"));

    assertThat(t.workloadPolicies()).containsOnlyKeys("uid-a", "uid-b", "uid-o");
  }

  @Test
  void peerAuthentication_disable_isLikePermissive() {
    Translation t = translate(pa(ROOT, "m", "{mtls: {mode: STRICT}}") + pa("ns", "n", "{mtls: {mode: DISABLE}}"));

    assertThat(t.workloadPolicies()).containsOnlyKeys("uid-o");
  }

  @Test
  void peerAuthentication_selectorStrict_appliesToMatchingWorkloadsOnly() {
    Translation t = translate(pa("ns", "w", "{selector: {matchLabels: {app: a}}, mtls: {mode: STRICT}}"));

    assertThat(t.workloadPolicies()).isEqualTo(Map.of("uid-a", List.of(STATIC)));
  }

  @Test
  void peerAuthentication_selectorPermissive_overridesNamespaceStrict() {
    Translation t = translate(pa("ns", "n", "{mtls: {mode: STRICT}}")
        + pa("ns", "w", "{selector: {matchLabels: {app: a}}, mtls: {mode: PERMISSIVE}}"));

    assertThat(t.workloadPolicies()).isEqualTo(Map.of("uid-b", List.of(STATIC)));
  }

  @Test
  void peerAuthentication_selectorInRootNamespace_isIgnored() {
    Translation t = translate(pa(ROOT, "w", "{selector: {matchLabels: {app: a}}, mtls: {mode: STRICT}}"));

    assertThat(t.workloadPolicies()).isEmpty();
  }

  @Test
  void peerAuthentication_oldestNamespacePolicyWins() {
    Translation t = translate("""
        apiVersion: security.istio.io/v1
        kind: PeerAuthentication
        metadata: {name: young, namespace: ns, creationTimestamp: "2024-02-01T00:00:00Z"}
        spec: {mtls: {mode: PERMISSIVE}}
        ---
        apiVersion: security.istio.io/v1
        kind: PeerAuthentication
        metadata: {name: old, namespace: ns, creationTimestamp: "2024-01-01T00:00:00Z"}
        spec: {mtls: {mode: STRICT}}
        """);

    assertThat(t.workloadPolicies()).containsOnlyKeys("uid-a", "uid-b");
  }

  @Test
  void peerAuthentication_strictWithPermissivePort_becomesConvertedDenyListedInsteadOfStatic() {
    Translation t = translate(pa("ns", "w",
        "{selector: {matchLabels: {app: a}}, mtls: {mode: STRICT}, portLevelMtls: {8080: {mode: PERMISSIVE}, 9090: {mode: DISABLE}}}"));

    assertThat(t.policies().get("ns/converted_peer_authentication_w")).isEqualTo(proto(Authorization.newBuilder(), """
        name: 'converted_peer_authentication_w' namespace: 'ns' scope: WORKLOAD_SELECTOR action: DENY
        rules {
          clauses { matches { not_principals { presence {} } } }
          clauses { matches { not_destination_ports: 8080 } }
          clauses { matches { not_destination_ports: 9090 } }
        }"""));
    assertThat(t.workloadPolicies()).isEqualTo(Map.of("uid-a", List.of("ns/converted_peer_authentication_w")));
  }

  @Test
  void peerAuthentication_permissiveWithStrictPorts_becomesOneRulePerStrictPort() {
    Translation t = translate(pa("ns", "w",
        "{selector: {matchLabels: {app: a}}, mtls: {mode: PERMISSIVE}, portLevelMtls: {443: {mode: STRICT}, 80: {mode: STRICT}, 81: {mode: PERMISSIVE}}}"));

    assertThat(t.policies().get("ns/converted_peer_authentication_w")).isEqualTo(proto(Authorization.newBuilder(), """
        name: 'converted_peer_authentication_w' namespace: 'ns' scope: WORKLOAD_SELECTOR action: DENY
        rules { clauses { matches { not_principals { presence {} } destination_ports: 80 } } }
        rules { clauses { matches { not_principals { presence {} } destination_ports: 443 } } }"""));
    assertThat(t.workloadPolicies()).isEqualTo(Map.of("uid-a", List.of("ns/converted_peer_authentication_w")));
  }

  @Test
  void peerAuthentication_strictWithOnlyStrictPorts_isPlainStrict() {
    Translation t = translate(pa("ns", "w",
        "{selector: {matchLabels: {app: a}}, mtls: {mode: STRICT}, portLevelMtls: {80: {mode: STRICT}}}"));

    assertThat(t.policies()).containsOnlyKeys(STATIC);
    assertThat(t.workloadPolicies()).isEqualTo(Map.of("uid-a", List.of(STATIC)));
  }

  @Test
  void peerAuthentication_unsetWithPermissivePortUnderStrictNamespace_mergesIntoOneConvertedDeny() {
    Translation t = translate(pa("ns", "n", "{mtls: {mode: STRICT}}")
        + pa("ns", "w", "{selector: {matchLabels: {app: a}}, portLevelMtls: {8080: {mode: PERMISSIVE}}}"));

    assertThat(t.policies().get("ns/converted_peer_authentication_w").getRules(0).getClausesList()).hasSize(2);
    assertThat(t.workloadPolicies()).isEqualTo(Map.of(
        "uid-a", List.of("ns/converted_peer_authentication_w"), "uid-b", List.of(STATIC)));
  }

  @Test
  void peerAuthentication_unsetWithStrictPortUnderPermissiveMesh_deniesPlaintextToThatPortOnly() {
    Translation t = translate(pa("ns", "w", "{selector: {matchLabels: {app: a}}, portLevelMtls: {80: {mode: STRICT}}}"));

    assertThat(t.policies().get("ns/converted_peer_authentication_w").getRulesList()).hasSize(1);
    assertThat(t.workloadPolicies()).isEqualTo(Map.of("uid-a", List.of("ns/converted_peer_authentication_w")));
  }

  @Test
  void peerAuthentication_portLevelInNamespaceWidePolicy_isNotConverted() {
    Translation t = translate(pa("ns", "n", "{mtls: {mode: STRICT}, portLevelMtls: {80: {mode: PERMISSIVE}}}"));

    assertThat(t.policies()).containsOnlyKeys(STATIC);
    assertThat(t.workloadPolicies()).containsOnlyKeys("uid-a", "uid-b");
  }

  @Test
  void peerAuthentication_strictWithPermissivePortUnderStrictNamespace_appendsTheMergedRuleAsIstiodDoes() {
    Translation t = translate(pa("ns", "n", "{mtls: {mode: STRICT}}")
        + pa("ns", "w", "{selector: {matchLabels: {app: a}}, mtls: {mode: STRICT}, portLevelMtls: {8080: {mode: PERMISSIVE}}}"));

    assertThat(t.policies().get("ns/converted_peer_authentication_w").getRulesList()).containsExactly(
        proto(dev.ambient.xds.api.security.Rule.newBuilder(), """
            clauses { matches { not_principals { presence {} } } }
            clauses { matches { not_destination_ports: 8080 } }
            clauses { matches { not_principals { presence {} } } }"""));
  }

  @Test
  void peerAuthentication_unsetUnderStrictMesh_putsPortExceptionsFirstThenTheMergedStrictRule() {
    Translation t = translate(pa(ROOT, "m", "{mtls: {mode: STRICT}}")
        + pa("ns", "w", "{selector: {matchLabels: {app: a}}, portLevelMtls: {8080: {mode: PERMISSIVE}, 443: {mode: STRICT}}}"));

    assertThat(t.policies().get("ns/converted_peer_authentication_w").getRulesList()).containsExactly(
        proto(dev.ambient.xds.api.security.Rule.newBuilder(), """
            clauses { matches { not_destination_ports: 8080 } }
            clauses { matches { not_principals { presence {} } } }"""));
    assertThat(t.workloadPolicies().get("uid-a")).containsExactly("ns/converted_peer_authentication_w");
  }

  @Test
  void peerAuthentication_unsetWithDisablePortUnderStrictNamespace_keepsStaticStrictAsIstiodDoes() {
    Translation t = translate(pa("ns", "n", "{mtls: {mode: STRICT}}")
        + pa("ns", "w", "{selector: {matchLabels: {app: a}}, portLevelMtls: {8080: {mode: DISABLE}}}"));

    assertThat(t.policies()).containsKey("ns/converted_peer_authentication_w");
    assertThat(t.workloadPolicies().get("uid-a")).containsExactly(STATIC);
  }

  @Test
  void peerAuthentication_permissiveWithStrictPortUnderStrictMesh_stillDeniesPlaintextOnThatPort() {
    // istiod (operator precedence) would list a converted policy it never publishes; we publish it.
    Translation t = translate(pa(ROOT, "m", "{mtls: {mode: STRICT}}")
        + pa("ns", "w", "{selector: {matchLabels: {app: a}}, mtls: {mode: PERMISSIVE}, portLevelMtls: {80: {mode: STRICT}}}"));

    assertThat(t.policies().get("ns/converted_peer_authentication_w")).isEqualTo(proto(Authorization.newBuilder(), """
        name: 'converted_peer_authentication_w' namespace: 'ns' scope: WORKLOAD_SELECTOR action: DENY
        rules { clauses { matches { not_principals { presence {} } destination_ports: 80 } } }"""));
    assertThat(t.workloadPolicies().get("uid-a")).containsExactly("ns/converted_peer_authentication_w");
  }
}
