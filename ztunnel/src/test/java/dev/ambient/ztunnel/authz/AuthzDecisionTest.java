package dev.ambient.ztunnel.authz;

import static dev.ambient.ztunnel.authz.AuthzFixtures.*;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ambient.xds.client.Authorization;
import dev.ambient.xds.client.Authorization.Action;
import dev.ambient.xds.client.Authorization.Match;
import dev.ambient.xds.client.Authorization.Scope;
import dev.ambient.xds.client.Workload;
import dev.ambient.ztunnel.authz.AuthorizationObserver.DryRun;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** Rule structure, policy selection and the decision algorithm (spec §6.2–§6.4). */
class AuthzDecisionTest {
  private static final Match CLIENT_NS = match().namespaces(exact("client-ns")).build();
  private static final Match OTHER_NS = match().namespaces(exact("other-ns")).build();
  private static final Match PORT_8080 = match().destinationPorts(8080).build();
  private static final Match PORT_9090 = match().destinationPorts(9090).build();

  private final List<String> reports = new ArrayList<>();
  private final Authorizer authorizer = Authorizer.create(new AuthorizationObserver() {
    @Override
    public void onDryRun(Connection connection, Workload destination, DryRun outcome) {
      reports.add(switch (outcome) {
        case DryRun.DenyMatched m -> "dry-run deny matched " + m.policy().key();
        case DryRun.AllowMatched m -> "dry-run allow matched " + m.policy().key();
        case DryRun.NoAllowMatched ignored -> "dry-run allow: none matched";
      });
    }

    @Override
    public void onUnknownPolicy(Workload destination, String policyName) {
      reports.add("unknown " + policyName + " for " + destination.uid());
    }
  });

  private Decision authorize(Connection c, Authorization... policies) {
    return authorizer.authorize(c, server(), index(policies));
  }

  // --- rule structure (§6.4)

  @Test
  void clause_orAcrossMatches_secondMatches_allowed() {
    assertAllowed(authorize(mtls(), allow("server-ns", "p", rule(clause(OTHER_NS, PORT_8080)))));
  }

  @Test
  void clause_orAcrossMatches_noneMatches_denied() {
    assertDenied(authorize(mtls(), allow("server-ns", "p", rule(clause(OTHER_NS, PORT_9090)))));
  }

  @Test
  void rule_andAcrossClauses_allMatch_allowed() {
    assertAllowed(authorize(mtls(), allow("server-ns", "p", rule(clause(CLIENT_NS), clause(PORT_8080)))));
  }

  @Test
  void rule_andAcrossClauses_oneFails_denied() {
    assertDenied(authorize(mtls(), allow("server-ns", "p", rule(clause(CLIENT_NS), clause(PORT_9090)))));
  }

  @Test
  void policy_orAcrossRules_secondMatches_allowed() {
    assertAllowed(authorize(mtls(), allow("server-ns", "p", ruleOf(OTHER_NS), ruleOf(PORT_8080))));
  }

  @Test
  void policy_orAcrossRules_noneMatches_denied() {
    assertDenied(authorize(mtls(), allow("server-ns", "p", ruleOf(OTHER_NS), ruleOf(PORT_9090))));
  }

  @Test
  void allowPolicy_zeroRules_deniesEverything() {
    Decision.Deny d = assertDenied(authorize(plaintext(), allow("server-ns", "p")));

    assertThat(d.reason()).isEqualTo(Decision.Reason.NO_ALLOW_MATCHED);
  }

  @Test
  void denyPolicy_zeroRules_deniesNothing() {
    assertAllowed(authorize(mtls(), deny("server-ns", "d")));
  }

  @Test
  void rule_zeroClauses_matchesEverything() {
    assertThat(assertDenied(authorize(plaintext(), deny("server-ns", "d", rule()))).policy())
        .contains("server-ns/d");
  }

  @Test
  void clause_zeroMatches_countsAsMatching() {
    assertDenied(authorize(plaintext(), deny("server-ns", "d", rule(clause(), clause(PORT_8080)))));
    assertAllowed(authorize(plaintext(), deny("server-ns", "d", rule(clause(), clause(PORT_9090)))));
  }

  @Test
  void clause_onlyEmptyMatch_neverMatches() {
    assertAllowed(authorize(mtls(), deny("server-ns", "d", rule(clause(match().build())))));
  }

  // --- decision algorithm (§6.3)

  @Test
  void noPolicies_allowedWithoutPolicy() {
    AuthorizedConnection c = assertAllowed(authorizer.authorize(mtls(), server(), PolicyIndex.EMPTY));

    assertThat(c.policy()).isEmpty();
    assertThat(c.connection()).isEqualTo(mtls());
    assertThat(c.destination()).isEqualTo(server());
  }

  @Test
  void denyMatches_explicitlyDeniedByPolicy() {
    Decision.Deny d = assertDenied(authorize(mtls(), deny("server-ns", "d", ruleOf(CLIENT_NS))));

    assertThat(d.reason()).isEqualTo(Decision.Reason.EXPLICITLY_DENIED);
    assertThat(d.policy()).contains("server-ns/d");
    assertThat(d.message()).isEqualTo("explicitly denied by: server-ns/d");
  }

  @Test
  void denyAndAllowBothMatch_denyWins() {
    Decision.Deny d = assertDenied(authorize(mtls(),
        allow("server-ns", "a", ruleOf(CLIENT_NS)), deny("server-ns", "d", ruleOf(PORT_8080))));

    assertThat(d.policy()).contains("server-ns/d");
  }

  @Test
  void denyOnly_noneMatches_allowed() {
    assertThat(assertAllowed(authorize(mtls(), deny("server-ns", "d", ruleOf(OTHER_NS)))).policy()).isEmpty();
  }

  @Test
  void allowPresent_noneMatches_deniedNoAllowMatched() {
    Decision.Deny d = assertDenied(authorize(mtls(),
        allow("server-ns", "a1", ruleOf(OTHER_NS)), allow("server-ns", "a2", ruleOf(PORT_9090))));

    assertThat(d.reason()).isEqualTo(Decision.Reason.NO_ALLOW_MATCHED);
    assertThat(d.policy()).isEmpty();
    assertThat(d.message()).isEqualTo("allow policies exist, but none allowed");
  }

  @Test
  void allowMatches_allowedCarryingThatPolicy() {
    Decision d = authorize(mtls(), allow("server-ns", "a1", ruleOf(OTHER_NS)), allow("server-ns", "a2", ruleOf(PORT_8080)));

    assertThat(((Decision.Allow) d).policy()).map(Authorization::key).contains("server-ns/a2");
  }

  @Test
  void deny_withoutPolicyForExplicitDeny_rejected() {
    assertThatThrownBy(() -> new Decision.Deny(Decision.Reason.EXPLICITLY_DENIED, Optional.empty()))
        .isInstanceOf(IllegalArgumentException.class);
  }

  // --- dry-run (§6.3 steps 2 and 4)

  @Test
  void dryRunDeny_matches_allowedAndReported() {
    assertAllowed(authorize(mtls(), dryRun(deny("server-ns", "d", ruleOf(CLIENT_NS)))));

    assertThat(reports).containsExactly("dry-run deny matched server-ns/d");
  }

  @Test
  void dryRunDeny_notMatching_notReported() {
    assertAllowed(authorize(mtls(), dryRun(deny("server-ns", "d", ruleOf(OTHER_NS)))));

    assertThat(reports).isEmpty();
  }

  @Test
  void dryRunDeny_alongsideEnforcedDeny_deniedByEnforcedAndBothReported() {
    Decision.Deny d = assertDenied(authorize(mtls(),
        deny("server-ns", "a-enforced", ruleOf(CLIENT_NS)), dryRun(deny("server-ns", "b-dry", ruleOf(PORT_8080)))));

    assertThat(d.policy()).contains("server-ns/a-enforced");
    assertThat(reports).containsExactly("dry-run deny matched server-ns/b-dry");
  }

  @Test
  void dryRunAllow_noneMatchesWithoutEnforcedAllow_allowedAndReportedWouldDeny() {
    assertThat(assertAllowed(authorize(mtls(), dryRun(allow("server-ns", "a", ruleOf(OTHER_NS))))).policy())
        .isEmpty();

    assertThat(reports).containsExactly("dry-run allow: none matched");
  }

  @Test
  void dryRunAllow_matches_allowedAndReported() {
    assertAllowed(authorize(mtls(), dryRun(allow("server-ns", "a", ruleOf(CLIENT_NS)))));

    assertThat(reports).containsExactly("dry-run allow matched server-ns/a");
  }

  @Test
  void dryRunAllow_matchesButEnforcedAllowDoesNot_denied() {
    assertDenied(authorize(mtls(),
        dryRun(allow("server-ns", "dry", ruleOf(CLIENT_NS))), allow("server-ns", "enforced", ruleOf(OTHER_NS))));

    assertThat(reports).containsExactly("dry-run allow matched server-ns/dry");
  }

  @Test
  void dryRunAllow_notMatchingWithEnforcedAllowMatching_allowedByEnforced() {
    AuthorizedConnection c = assertAllowed(authorize(mtls(),
        dryRun(allow("server-ns", "dry", ruleOf(OTHER_NS))), allow("server-ns", "enforced", ruleOf(CLIENT_NS))));

    assertThat(c.policy()).map(Authorization::key).contains("server-ns/enforced");
    assertThat(reports).isEmpty();
  }

  // --- selection (§6.2)

  @Test
  void globalPolicy_appliesInEveryNamespace() {
    Authorization global = policy("istio-system", "g", Scope.GLOBAL, Action.DENY, ruleOf(CLIENT_NS));
    PolicyIndex index = index(global);

    assertDenied(authorizer.authorize(mtls(), workload("w1", "ns-a"), index));
    assertDenied(authorizer.authorize(mtls(), workload("w2", "ns-b"), index));
    assertThat(index.policiesFor(workload("w3", "istio-system"))).containsExactly(global);
  }

  @Test
  void namespacePolicy_appliesOnlyInItsNamespace() {
    PolicyIndex index = index(deny("ns-a", "d", ruleOf(CLIENT_NS)));

    assertDenied(authorizer.authorize(mtls(), workload("w1", "ns-a"), index));
    assertAllowed(authorizer.authorize(mtls(), workload("w2", "ns-b"), index));
  }

  @Test
  void selectorPolicy_listedOnWorkload_applies() {
    PolicyIndex index = index(policy("ns-a", "sel", Scope.WORKLOAD_SELECTOR, Action.DENY, ruleOf(CLIENT_NS)));

    assertThat(assertDenied(authorizer.authorize(mtls(), workload("w1", "ns-a", "ns-a/sel"), index)).policy())
        .contains("ns-a/sel");
  }

  @Test
  void selectorPolicy_notListedOnWorkload_ignored() {
    PolicyIndex index = index(policy("ns-a", "sel", Scope.WORKLOAD_SELECTOR, Action.DENY, ruleOf(CLIENT_NS)));

    assertAllowed(authorizer.authorize(mtls(), workload("w1", "ns-a"), index));
    assertThat(index.policiesFor(workload("w1", "ns-a"))).isEmpty();
  }

  @Test
  void selectorPolicy_unknownName_skippedAndReported() {
    PolicyIndex index = index(allow("ns-a", "a", ruleOf(CLIENT_NS)));

    assertAllowed(authorizer.authorize(mtls(), workload("w1", "ns-a", "ns-a/missing"), index));
    assertThat(reports).containsExactly("unknown ns-a/missing for w1");
  }

  @Test
  void policiesFor_unionOfNamespaceGlobalAndSelector_eachOnce() {
    Authorization ns = allow("ns-a", "n", ruleOf(CLIENT_NS));
    Authorization otherNs = allow("ns-b", "n", ruleOf(CLIENT_NS));
    Authorization global = policy("istio-system", "g", Scope.GLOBAL, Action.ALLOW, ruleOf(CLIENT_NS));
    Authorization sel = policy("ns-a", "s", Scope.WORKLOAD_SELECTOR, Action.ALLOW, ruleOf(CLIENT_NS));
    Authorization otherSel = policy("ns-a", "t", Scope.WORKLOAD_SELECTOR, Action.ALLOW, ruleOf(CLIENT_NS));
    PolicyIndex index = index(ns, otherNs, global, sel, otherSel);

    List<Authorization> selected = index.policiesFor(workload("w1", "ns-a", "ns-a/s", "ns-a/n", "ns-a/s"));

    assertThat(selected).containsExactlyInAnyOrder(ns, global, sel);
    assertThat(index.get("ns-a/t")).contains(otherSel);
    assertThat(index.size()).isEqualTo(5);
  }

  @Test
  void selectorAllow_onOneWorkload_doesNotDenyItsNeighbour() {
    PolicyIndex index = index(policy("ns-a", "sel", Scope.WORKLOAD_SELECTOR, Action.ALLOW, ruleOf(OTHER_NS)));

    assertDenied(authorizer.authorize(mtls(), workload("w1", "ns-a", "ns-a/sel"), index));
    assertAllowed(authorizer.authorize(mtls(), workload("w2", "ns-a"), index));
  }
}
