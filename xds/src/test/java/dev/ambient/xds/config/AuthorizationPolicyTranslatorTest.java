package dev.ambient.xds.config;

import static dev.ambient.xds.config.IstioTestObjects.authorizationPolicy;
import static dev.ambient.xds.config.IstioTestObjects.proto;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ambient.xds.api.security.Action;
import dev.ambient.xds.api.security.Authorization;
import dev.ambient.xds.api.security.Scope;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class AuthorizationPolicyTranslatorTest {
  static final String ROOT = "istio-system";

  private final List<String> warnings = new ArrayList<>();

  private @Nullable Authorization translate(String namespace, String spec) {
    return AuthorizationPolicyTranslator.translate(authorizationPolicy(namespace, spec), ROOT, warnings::add);
  }

  /** The rules of the translated policy, in text format. */
  private Authorization rulesOf(String action, String rulesYaml) {
    Authorization a = translate("ns", "action: " + action + "\nrules:\n" + rulesYaml.strip().indent(0));
    assertThat(a).isNotNull();
    return a.toBuilder().clearName().clearNamespace().clearScope().clearAction().build();
  }

  static Stream<Arguments> translations() {
    return Stream.of(
        // from: principals and namespaces, with the string conversion
        row("fromPrincipalsWildcard_becomesPresence", "ALLOW", "- from: [{source: {principals: ['*']}}]",
            "rules { clauses { matches { principals { presence {} } } } }"),
        row("fromPrincipalsLeadingStar_becomesSuffix", "ALLOW", "- from: [{source: {principals: ['*/sa/bar']}}]",
            "rules { clauses { matches { principals { suffix: '/sa/bar' } } } }"),
        row("fromPrincipalsTrailingStar_becomesPrefix", "ALLOW",
            "- from: [{source: {principals: ['cluster.local/ns/foo/*']}}]",
            "rules { clauses { matches { principals { prefix: 'cluster.local/ns/foo/' } } } }"),
        row("fromPrincipalsPlain_becomesExact", "ALLOW",
            "- from: [{source: {principals: ['cluster.local/ns/foo/sa/bar']}}]",
            "rules { clauses { matches { principals { exact: 'cluster.local/ns/foo/sa/bar' } } } }"),
        row("fromNotPrincipals_becomesNotPrincipals", "ALLOW", "- from: [{source: {notPrincipals: ['*']}}]",
            "rules { clauses { matches { not_principals { presence {} } } } }"),
        row("fromNamespaces_becomesNamespaces", "ALLOW", "- from: [{source: {namespaces: [foo, 'bar*']}}]",
            "rules { clauses { matches { namespaces { exact: 'foo' } namespaces { prefix: 'bar' } } } }"),
        row("fromNotNamespaces_becomesNotNamespaces", "ALLOW", "- from: [{source: {notNamespaces: ['*-test']}}]",
            "rules { clauses { matches { not_namespaces { suffix: '-test' } } } }"),
        // from: IPs
        row("fromIpBlocks_becomeSourceIpsWithFullLengthForBareIps", "ALLOW",
            "- from: [{source: {ipBlocks: ['198.18.0.0/15', '1.2.3.4', '2001:db8::1', 'not-an-ip', '']}}]",
            "rules { clauses { matches { source_ips { address: '\\306\\022\\0\\0' length: 15 }"
                + " source_ips { address: '\\001\\002\\003\\004' length: 32 }"
                + " source_ips { address: '\\040\\001\\015\\270\\0\\0\\0\\0\\0\\0\\0\\0\\0\\0\\0\\001' length: 128 } } } }"),
        row("fromNotIpBlocks_becomeNotSourceIps", "ALLOW", "- from: [{source: {notIpBlocks: ['198.19.0.0/16']}}]",
            "rules { clauses { matches { not_source_ips { address: '\\306\\023\\0\\0' length: 16 } } } }"),
        // from: service accounts
        row("fromServiceAccounts_bareGetsPolicyNamespace", "ALLOW",
            "- from: [{source: {serviceAccounts: [sa1, other/sa2]}}]",
            "rules { clauses { matches { service_accounts { namespace: 'ns' serviceAccount: 'sa1' }"
                + " service_accounts { namespace: 'other' serviceAccount: 'sa2' } } } }"),
        row("fromNotServiceAccounts_becomeNotServiceAccounts", "ALLOW",
            "- from: [{source: {notServiceAccounts: [sa1]}}]",
            "rules { clauses { matches { not_service_accounts { namespace: 'ns' serviceAccount: 'sa1' } } } }"),
        // from: L7 fields
        row("fromRemoteIpBlocksInAllow_dropsTheRule", "ALLOW", "- from: [{source: {remoteIpBlocks: ['1.2.3.4']}}]", ""),
        row("fromNotRemoteIpBlocksInAllow_dropsTheRule", "ALLOW",
            "- from: [{source: {notRemoteIpBlocks: ['1.2.3.4'], namespaces: [a]}}]", ""),
        row("fromRequestPrincipalsInAllow_dropsTheRule", "ALLOW",
            "- from: [{source: {requestPrincipals: ['*']}}]\n- from: [{source: {namespaces: [a]}}]",
            "rules { clauses { matches { namespaces { exact: 'a' } } } }"),
        row("fromRemoteIpBlocksInDeny_leavesAnEmptyMatch", "DENY", "- from: [{source: {remoteIpBlocks: ['1.2.3.4']}}]",
            "rules { clauses { matches {} } }"),
        row("fromRequestPrincipalsInDeny_keepsTheRest", "DENY",
            "- from: [{source: {notRequestPrincipals: ['*'], namespaces: [a]}}]",
            "rules { clauses { matches { namespaces { exact: 'a' } } } }"),
        // to
        row("toPorts_becomeDestinationPortsDroppingBadOnes", "ALLOW",
            "- to: [{operation: {ports: ['80', '70000', 'http', '-1', '+1', '', '000000000000443', '99999999999999']}}]",
            "rules { clauses { matches { destination_ports: 80 destination_ports: 443 } } }"),
        row("toNotPorts_becomeNotDestinationPorts", "ALLOW", "- to: [{operation: {notPorts: ['9999']}}]",
            "rules { clauses { matches { not_destination_ports: 9999 } } }"),
        row("toMethodsInAllow_dropsTheRule", "ALLOW", "- to: [{operation: {methods: [GET], ports: ['80']}}]", ""),
        row("toPathsInAllow_dropsTheRule", "ALLOW", "- to: [{operation: {notPaths: ['/x']}}]", ""),
        row("toHostsInAllow_dropsTheRule", "ALLOW", "- to: [{operation: {hosts: [a.com]}}]", ""),
        row("toMethodsInDeny_keepsThePorts", "DENY", "- to: [{operation: {methods: [GET], ports: ['80']}}]",
            "rules { clauses { matches { destination_ports: 80 } } }"),
        row("toOnlyL7InDeny_leavesAnEmptyMatch", "DENY",
            "- to: [{operation: {hosts: [a], notHosts: [b], paths: [/], notMethods: [PUT]}}]",
            "rules { clauses { matches {} } }"),
        row("toSeveral_areOneClauseOfOredMatches", "ALLOW",
            "- to: [{operation: {ports: ['80']}}, {operation: {ports: ['443']}}]",
            "rules { clauses { matches { destination_ports: 80 } matches { destination_ports: 443 } } }"),
        // when
        row("whenSourceIp_fillsSourceIps", "ALLOW",
            "- when: [{key: source.ip, values: ['198.18.0.1'], notValues: ['198.18.0.2/31']}]",
            "rules { clauses { matches { source_ips { address: '\\306\\022\\0\\001' length: 32 }"
                + " not_source_ips { address: '\\306\\022\\0\\002' length: 31 } } } }"),
        row("whenSourceNamespace_fillsNamespaces", "ALLOW",
            "- when: [{key: source.namespace, values: [a], notValues: ['b*']}]",
            "rules { clauses { matches { namespaces { exact: 'a' } not_namespaces { prefix: 'b' } } } }"),
        row("whenSourcePrincipal_fillsPrincipals", "ALLOW",
            "- when: [{key: source.principal, values: ['*'], notValues: [x]}]",
            "rules { clauses { matches { principals { presence {} } not_principals { exact: 'x' } } } }"),
        row("whenDestinationIp_fillsDestinationIps", "ALLOW",
            "- when: [{key: destination.ip, values: ['198.18.0.0/24'], notValues: ['198.18.0.1']}]",
            "rules { clauses { matches { destination_ips { address: '\\306\\022\\0\\0' length: 24 }"
                + " not_destination_ips { address: '\\306\\022\\0\\001' length: 32 } } } }"),
        row("whenDestinationPort_fillsDestinationPorts", "ALLOW",
            "- when: [{key: destination.port, values: ['80'], notValues: ['81']}]",
            "rules { clauses { matches { destination_ports: 80 not_destination_ports: 81 } } }"),
        row("whenEach_isItsOwnClause", "ALLOW",
            "- when: [{key: source.namespace, values: [a]}, {key: destination.port, values: ['80']}]",
            "rules { clauses { matches { namespaces { exact: 'a' } } } clauses { matches { destination_ports: 80 } } }"),
        row("whenRequestHeaderInAllow_dropsTheRule", "ALLOW",
            "- when: [{key: 'request.headers[x-user]', values: [a]}]", ""),
        row("whenAuthClaimsInDeny_leavesAnEmptyMatchClause", "DENY",
            "- from: [{source: {namespaces: [a]}}]\n  when: [{key: 'request.auth.claims[iss]', values: [a]}]",
            "rules { clauses { matches { namespaces { exact: 'a' } } } clauses { matches {} } }"),
        // rule structure
        row("ruleWithToFromWhen_isToThenFromThenWhenClauses", "ALLOW", """
            - from: [{source: {namespaces: [a]}}, {source: {principals: [b]}}]
              to: [{operation: {ports: ['80']}}]
              when: [{key: source.ip, values: ['1.1.1.1']}]""",
            "rules { clauses { matches { destination_ports: 80 } }"
                + " clauses { matches { namespaces { exact: 'a' } } matches { principals { exact: 'b' } } }"
                + " clauses { matches { source_ips { address: '\\001\\001\\001\\001' length: 32 } } } }"),
        row("emptyRule_isARuleWithNoClauses", "ALLOW", "- {}", "rules {}"),
        row("allRulesDroppedInAllow_isAllowNothing", "ALLOW",
            "- to: [{operation: {methods: [GET]}}]\n- from: [{source: {requestPrincipals: ['*']}}]", ""));
  }

  static Arguments row(String name, String action, String rules, String expected) {
    return Arguments.of(name, action, rules, expected);
  }

  @ParameterizedTest(name = "authorizationPolicy_{0}")
  @MethodSource("translations")
  void authorizationPolicy_translationTable(String name, String action, String rules, String expected) {
    Authorization want = proto(Authorization.newBuilder(), expected);
    assertThat(rulesOf(action, rules)).isEqualTo(want);
  }

  @Test
  void authorizationPolicy_fromPrincipalsWildcard_becomesPresence() {
    Authorization a = translate("ns", "rules: [{from: [{source: {principals: ['*']}}]}]");

    assertThat(a).isNotNull();
    assertThat(a.getRules(0).getClauses(0).getMatches(0).getPrincipals(0).hasPresence()).isTrue();
  }

  @Test
  void authorizationPolicy_withoutSelectorInNamespace_isNamespaceScopedAllowNamedAfterIt() {
    Authorization a = translate("ns", "{}");

    assertThat(a).isEqualTo(Authorization.newBuilder().setName("p").setNamespace("ns")
        .setScope(Scope.NAMESPACE).setAction(Action.ALLOW).build());
  }

  @Test
  void authorizationPolicy_withoutSelectorInRootNamespace_isGlobal() {
    assertThat(translate(ROOT, "action: DENY").getScope()).isEqualTo(Scope.GLOBAL);
  }

  @Test
  void authorizationPolicy_withSelector_isWorkloadSelectorScoped() {
    assertThat(translate(ROOT, "selector: {matchLabels: {app: a}}").getScope()).isEqualTo(Scope.WORKLOAD_SELECTOR);
    assertThat(translate("ns", "selector: {}").getScope()).isEqualTo(Scope.WORKLOAD_SELECTOR);
  }

  @Test
  void authorizationPolicy_deny_isDeny() {
    assertThat(translate("ns", "action: DENY").getAction()).isEqualTo(Action.DENY);
  }

  @Test
  void authorizationPolicy_customOrAudit_isNotSent() {
    assertThat(translate("ns", "action: CUSTOM\nprovider: {name: ext}")).isNull();
    assertThat(translate("ns", "action: AUDIT")).isNull();
    assertThat(warnings).containsExactly(
        "ztunnel does not support the CUSTOM action", "ztunnel does not support the AUDIT action");
  }

  @Test
  void authorizationPolicy_withTargetRefOrTargetRefs_isNotSent() {
    assertThat(translate("ns", "targetRef: {kind: Gateway, group: gateway.networking.k8s.io, name: w}")).isNull();
    assertThat(translate("ns", "targetRefs: [{kind: Service, group: '', name: s}]")).isNull();
    assertThat(translate("ns", "targetRefs: []")).isNotNull();
  }

  @Test
  void authorizationPolicy_dryRunAnnotation_isNotSent() {
    var p = IstioTestObjects.objects("""
        apiVersion: security.istio.io/v1beta1
        kind: AuthorizationPolicy
        metadata: {name: p, namespace: ns, annotations: {istio.io/dry-run: "true"}}
        spec: {action: DENY}
        """).get(0);

    assertThat(AuthorizationPolicyTranslator.translate((IstioSchema.AuthorizationPolicy) p, ROOT, warnings::add))
        .isNull();
    assertThat(warnings).containsExactly("dry-run policies are not sent to ztunnel");
  }

  @Test
  void authorizationPolicy_l7InAllow_warnsMoreRestrictive() {
    translate("ns", "rules: [{to: [{operation: {methods: [GET], paths: [/a]}}]}]");

    assertThat(warnings).containsExactly("ALLOW rules with HTTP attributes are omitted (more restrictive): methods, paths");
  }

  @Test
  void authorizationPolicy_onlyL7InDeny_warnsNotEnforceable() {
    translate("ns", "action: DENY\nrules: [{to: [{operation: {methods: [GET]}}]}]");

    assertThat(warnings).singleElement().asString().startsWith("DENY has no enforceable rules at ztunnel");
  }

  @Test
  void authorizationPolicy_unknownSpecField_isRejectedWithItsLine() {
    assertThatThrownBy(() -> authorizationPolicy("ns", "rules:\n- from:\n  - source:\n      principal: [a]"))
        .isInstanceOfSatisfying(ConfigException.class, e -> {
          assertThat(e.line()).isEqualTo(8);
          assertThat(e.reason()).contains("unknown field 'principal'");
        });
  }

  @Test
  void translatedPolicies_roundTripThroughProtoBytes() throws Exception {
    for (Arguments row : translations().toList()) {
      Authorization a = rulesOf((String) row.get()[1], (String) row.get()[2]);
      assertThat(Authorization.parseFrom(a.toByteArray())).isEqualTo(a);
    }
    Authorization full = translate("ns", "selector: {matchLabels: {a: b}}\naction: DENY\n"
        + "rules: [{from: [{source: {ipBlocks: ['2001:db8::/8'], principals: ['*']}}], to: [{operation: {ports: ['1']}}]}]");
    assertThat(Authorization.parseFrom(full.toByteArray())).isEqualTo(full);
    assertThat(full.getUnknownFields().asMap()).isEmpty();
  }
}
