package dev.ambient.xds.config;

import static java.util.Objects.requireNonNullElse;

import com.google.protobuf.Empty;
import dev.ambient.xds.api.security.Action;
import dev.ambient.xds.api.security.Authorization;
import dev.ambient.xds.api.security.Clause;
import dev.ambient.xds.api.security.Match;
import dev.ambient.xds.api.security.Rule;
import dev.ambient.xds.api.security.Scope;
import dev.ambient.xds.api.security.ServiceAccountMatch;
import dev.ambient.xds.api.security.StringMatch;
import dev.ambient.xds.config.IstioSchema.AuthorizationPolicy;
import dev.ambient.xds.config.IstioSchema.AuthorizationPolicySpec;
import dev.ambient.xds.config.IstioSchema.Condition;
import dev.ambient.xds.config.IstioSchema.From;
import dev.ambient.xds.config.IstioSchema.Operation;
import dev.ambient.xds.config.IstioSchema.Source;
import dev.ambient.xds.config.IstioSchema.To;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Consumer;
import org.jspecify.annotations.Nullable;

/**
 * An Istio {@code AuthorizationPolicy} as istiod translates it for ztunnel (istio-ambient.md §4.5,
 * {@code pilot/pkg/serviceregistry/ambient/authorization.go}).
 *
 * <ul>
 *   <li>Not sent: policies with {@code targetRef}/{@code targetRefs} (waypoint policies), {@code CUSTOM} and
 *       {@code AUDIT} actions, and dry-run policies ({@code istio.io/dry-run: "true"}; istiod sends them only
 *       behind a feature flag we do not have).
 *   <li>Scope: a selector gives WORKLOAD_SELECTOR; no selector gives GLOBAL in the root namespace, else NAMESPACE.
 *   <li>Each rule is one {@code Rule} (istiod's Group) of ANDed clauses: all {@code to} entries as one clause
 *       (one Match each), all {@code from} entries as one clause (one Match each), and one clause per
 *       {@code when} condition.
 *   <li>Strings: {@code *} is presence, {@code *x} suffix, {@code x*} prefix, anything else exact. A bare service
 *       account (no {@code /}) is in the policy's namespace. Unparsable IPs and ports are dropped.
 *   <li>L7 attributes (hosts, methods, paths, request principals, remote IP blocks, other {@code when} keys):
 *       an ALLOW rule using any is dropped entirely; in a DENY rule they are left out, which can leave an empty
 *       Match (ztunnel: matches nothing).
 * </ul>
 */
final class AuthorizationPolicyTranslator {
  /** The {@code when} keys ztunnel can evaluate. */
  static final Set<String> L4_WHEN_KEYS =
      Set.of("source.ip", "source.namespace", "source.principal", "destination.ip", "destination.port");
  static final String DRY_RUN_ANNOTATION = "istio.io/dry-run";

  private AuthorizationPolicyTranslator() {}

  /** The ztunnel policy, or null when istiod would not send one; why goes to {@code warnings}. */
  static @Nullable Authorization translate(AuthorizationPolicy policy, String rootNamespace, Consumer<String> warnings) {
    AuthorizationPolicySpec spec = policy.spec();
    if (spec.targetRef() != null || (spec.targetRefs() != null && !spec.targetRefs().isEmpty())) {
      return null; // a waypoint policy: silently not for ztunnel
    }
    PolicyActionResult action = action(spec, warnings);
    if (action == null) {
      return null;
    }
    if ("true".equals(policy.metadata().annotations().get(DRY_RUN_ANNOTATION))) {
      warnings.accept("dry-run policies are not sent to ztunnel");
      return null;
    }
    Scope scope = spec.selector() != null ? Scope.WORKLOAD_SELECTOR
        : policy.metadata().namespace().equals(rootNamespace) ? Scope.GLOBAL : Scope.NAMESPACE;
    Authorization.Builder out = Authorization.newBuilder()
        .setName(policy.metadata().name()).setNamespace(policy.metadata().namespace())
        .setScope(scope).setAction(action.value());
    Set<String> l7 = new TreeSet<>();
    for (IstioSchema.Rule rule : orEmpty(spec.rules())) {
      Rule r = rule(rule, action.value(), policy.metadata().namespace(), l7);
      if (r != null) {
        out.addRules(r);
      }
    }
    if (!l7.isEmpty()) {
      warnings.accept(action.value() == Action.ALLOW
          ? "ALLOW rules with HTTP attributes are omitted (more restrictive): " + String.join(", ", l7)
          : noEnforceableRule(out) ? "DENY has no enforceable rules at ztunnel; deploy a waypoint and use targetRef: "
              + String.join(", ", l7)
          : "DENY enforced without the HTTP rules (more restrictive): " + String.join(", ", l7));
    }
    return out.build();
  }

  private record PolicyActionResult(Action value) {}

  private static @Nullable PolicyActionResult action(AuthorizationPolicySpec spec, Consumer<String> warnings) {
    var a = spec.action() == null ? IstioSchema.PolicyAction.ALLOW : spec.action();
    return switch (a) {
      case ALLOW -> new PolicyActionResult(Action.ALLOW);
      case DENY -> new PolicyActionResult(Action.DENY);
      case AUDIT, CUSTOM -> {
        warnings.accept("ztunnel does not support the " + a + " action");
        yield null;
      }
    };
  }

  private static boolean noEnforceableRule(Authorization.Builder policy) {
    return policy.getRulesList().stream().allMatch(r -> r.getClausesList().stream()
        .anyMatch(c -> c.getMatchesList().stream().allMatch(m -> m.equals(Match.getDefaultInstance()))));
  }

  /** One rule, or null when an ALLOW rule uses L7 attributes (collected into {@code l7}). */
  private static @Nullable Rule rule(IstioSchema.Rule rule, Action action, String namespace, Set<String> l7) {
    boolean allow = action == Action.ALLOW;
    List<Match> toMatches = new ArrayList<>();
    for (To to : orEmpty(rule.to())) {
      Operation op = requireNonNullElse(to.operation(), Operation.EMPTY);
      note(l7, "hosts", op.hosts());
      note(l7, "notHosts", op.notHosts());
      note(l7, "methods", op.methods());
      note(l7, "notMethods", op.notMethods());
      note(l7, "paths", op.paths());
      note(l7, "notPaths", op.notPaths());
      if (allow && usesL7(op)) {
        return null;
      }
      toMatches.add(Match.newBuilder()
          .addAllDestinationPorts(ports(op.ports())).addAllNotDestinationPorts(ports(op.notPorts())).build());
    }
    List<Match> fromMatches = new ArrayList<>();
    for (From from : orEmpty(rule.from())) {
      Source s = requireNonNullElse(from.source(), Source.EMPTY);
      note(l7, "requestPrincipals", s.requestPrincipals());
      note(l7, "notRequestPrincipals", s.notRequestPrincipals());
      note(l7, "remoteIpBlocks", s.remoteIpBlocks());
      note(l7, "notRemoteIpBlocks", s.notRemoteIpBlocks());
      if (allow && usesL7(s)) {
        return null;
      }
      fromMatches.add(Match.newBuilder()
          .addAllSourceIps(ips(s.ipBlocks())).addAllNotSourceIps(ips(s.notIpBlocks()))
          .addAllNamespaces(strings(s.namespaces())).addAllNotNamespaces(strings(s.notNamespaces()))
          .addAllPrincipals(strings(s.principals())).addAllNotPrincipals(strings(s.notPrincipals()))
          .addAllServiceAccounts(serviceAccounts(s.serviceAccounts(), namespace))
          .addAllNotServiceAccounts(serviceAccounts(s.notServiceAccounts(), namespace))
          .build());
    }
    List<Match> whenMatches = new ArrayList<>();
    for (Condition when : orEmpty(rule.when())) {
      if (!L4_WHEN_KEYS.contains(when.key())) {
        l7.add("when " + when.key());
        if (allow) {
          return null;
        }
      }
      whenMatches.add(condition(when));
    }
    Rule.Builder out = Rule.newBuilder();
    if (!toMatches.isEmpty()) {
      out.addClauses(Clause.newBuilder().addAllMatches(toMatches));
    }
    if (!fromMatches.isEmpty()) {
      out.addClauses(Clause.newBuilder().addAllMatches(fromMatches));
    }
    for (Match m : whenMatches) {
      out.addClauses(Clause.newBuilder().addMatches(m));
    }
    return out.build();
  }

  private static boolean usesL7(Operation op) {
    return any(op.hosts(), op.notHosts(), op.methods(), op.notMethods(), op.paths(), op.notPaths());
  }

  private static boolean usesL7(Source s) {
    return any(s.requestPrincipals(), s.notRequestPrincipals(), s.remoteIpBlocks(), s.notRemoteIpBlocks());
  }

  @SafeVarargs
  private static boolean any(@Nullable List<String>... lists) {
    for (List<String> l : lists) {
      if (l != null && !l.isEmpty()) {
        return true;
      }
    }
    return false;
  }

  private static void note(Set<String> l7, String field, @Nullable List<String> values) {
    if (values != null && !values.isEmpty()) {
      l7.add(field);
    }
  }

  /** A condition with a supported key fills the matching field; any other key gives an empty Match. */
  private static Match condition(Condition when) {
    Match.Builder m = Match.newBuilder();
    List<String> values = orEmpty(when.values());
    List<String> notValues = orEmpty(when.notValues());
    switch (when.key()) {
      case "source.ip" -> m.addAllSourceIps(ips(values)).addAllNotSourceIps(ips(notValues));
      case "source.namespace" -> m.addAllNamespaces(strings(values)).addAllNotNamespaces(strings(notValues));
      case "source.principal" -> m.addAllPrincipals(strings(values)).addAllNotPrincipals(strings(notValues));
      case "destination.ip" -> m.addAllDestinationIps(ips(values)).addAllNotDestinationIps(ips(notValues));
      case "destination.port" -> m.addAllDestinationPorts(ports(values)).addAllNotDestinationPorts(ports(notValues));
      default -> { }
    }
    return m.build();
  }

  /** istiod's {@code stringToMatch}. */
  static List<StringMatch> strings(@Nullable List<String> values) {
    List<StringMatch> out = new ArrayList<>();
    for (String v : orEmpty(values)) {
      StringMatch.Builder m = StringMatch.newBuilder();
      if (v.equals("*")) {
        m.setPresence(Empty.getDefaultInstance());
      } else if (v.startsWith("*")) {
        m.setSuffix(v.substring(1));
      } else if (v.endsWith("*")) {
        m.setPrefix(v.substring(0, v.length() - 1));
      } else {
        m.setExact(v);
      }
      out.add(m.build());
    }
    return out;
  }

  /** istiod's {@code stringToIP}: a bare IP gets the full length; empty or unparsable entries are dropped. */
  static List<dev.ambient.xds.api.security.Address> ips(@Nullable List<String> values) {
    List<dev.ambient.xds.api.security.Address> out = new ArrayList<>();
    for (String v : orEmpty(values)) {
      IpLiterals.Cidr.tryParse(v).ifPresent(c -> out.add(c.toProto()));
    }
    return out;
  }

  /** istiod's {@code stringToPort}: decimal 0..65535, anything else dropped. */
  static List<Integer> ports(@Nullable List<String> values) {
    List<Integer> out = new ArrayList<>();
    for (String v : orEmpty(values)) {
      if (!v.isEmpty() && v.chars().allMatch(c -> c >= '0' && c <= '9')) {
        String digits = v.replaceFirst("^0+(?=.)", ""); // Go's ParseUint takes leading zeros
        if (digits.length() <= 5 && Integer.parseInt(digits) <= 65535) {
          out.add(Integer.parseInt(digits));
        }
      }
    }
    return out;
  }

  /** {@code ns/sa}, or a bare {@code sa} in the policy's namespace. */
  static List<ServiceAccountMatch> serviceAccounts(@Nullable List<String> values, String namespace) {
    List<ServiceAccountMatch> out = new ArrayList<>();
    for (String v : orEmpty(values)) {
      int slash = v.indexOf('/');
      out.add(slash < 0
          ? ServiceAccountMatch.newBuilder().setNamespace(namespace).setServiceAccount(v).build()
          : ServiceAccountMatch.newBuilder().setNamespace(v.substring(0, slash))
              .setServiceAccount(v.substring(slash + 1)).build());
    }
    return out;
  }

  private static <T> List<T> orEmpty(@Nullable List<T> list) {
    return requireNonNullElse(list, List.of());
  }
}
