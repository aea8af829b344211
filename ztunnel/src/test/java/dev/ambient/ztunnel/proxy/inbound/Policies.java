package dev.ambient.ztunnel.proxy.inbound;

import dev.ambient.xds.client.Authorization;
import dev.ambient.xds.client.Authorization.Action;
import dev.ambient.xds.client.Authorization.Clause;
import dev.ambient.xds.client.Authorization.Match;
import dev.ambient.xds.client.Authorization.Rule;
import dev.ambient.xds.client.Authorization.Scope;
import dev.ambient.xds.client.Authorization.StringMatch;
import dev.ambient.ztunnel.authz.PolicyIndex;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Namespace-scoped policies for the inbound tests. */
final class Policies {
  private Policies() {}

  /** DENY everything in {@code namespace} (a rule with no clauses matches all). */
  static Authorization denyAll(String namespace) {
    return new Authorization("deny-all", namespace, Scope.NAMESPACE, Action.DENY, List.of(new Rule(List.of())), false);
  }

  /** ALLOW only the principal {@code td/ns/x/sa/y}. */
  static Authorization allowPrincipal(String namespace, String principal) {
    Match m = new Match(List.of(), List.of(), List.of(new StringMatch.Exact(principal)), List.of(), List.of(),
        List.of(), List.of(), List.of(), List.of(), List.of(), List.of(), List.of());
    return new Authorization("allow-principal", namespace, Scope.NAMESPACE, Action.ALLOW,
        List.of(new Rule(List.of(new Clause(List.of(m))))), false);
  }

  /** ALLOW only destination port {@code port}. */
  static Authorization allowPort(String namespace, int port) {
    Match m = new Match(List.of(), List.of(), List.of(), List.of(), List.of(), List.of(), List.of(), List.of(),
        List.of(port), List.of(), List.of(), List.of());
    return new Authorization("allow-port", namespace, Scope.NAMESPACE, Action.ALLOW,
        List.of(new Rule(List.of(new Clause(List.of(m))))), false);
  }

  static PolicyIndex index(Authorization... policies) {
    Map<String, Authorization> m = new LinkedHashMap<>();
    for (Authorization p : policies) {
      m.put(p.key(), p);
    }
    return PolicyIndex.of(m);
  }
}
