package dev.ambient.xds.config;

import com.google.protobuf.Empty;
import dev.ambient.xds.api.security.Action;
import dev.ambient.xds.api.security.Authorization;
import dev.ambient.xds.api.security.Clause;
import dev.ambient.xds.api.security.Match;
import dev.ambient.xds.api.security.Rule;
import dev.ambient.xds.api.security.Scope;
import dev.ambient.xds.api.security.StringMatch;
import dev.ambient.xds.config.IstioSchema.MtlsMode;
import dev.ambient.xds.config.IstioSchema.PeerAuthentication;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import org.jspecify.annotations.Nullable;

/**
 * Istio {@code PeerAuthentication}s as istiod turns them into ztunnel DENY policies (istio-ambient.md §4.6).
 *
 * Ported from istiod's {@code authorization.go} ({@code convertPeerAuthentication},
 * {@code convertedSelectorPeerAuthentications}); the namespace- and mesh-level policies it consults are the oldest
 * ones without a workload selector.
 *
 * <ul>
 *   <li>When any PeerAuthentication exists, the static policy {@code <root>/istio_converted_static_strict}
 *       (DENY, WORKLOAD_SELECTOR, {@code not_principals: [presence]}) is published.
 *   <li>A workload's mode: mesh (root namespace, no selector) &lt; namespace (no selector) &lt; workload selector
 *       (same namespace; selector policies in the root namespace are ignored), oldest first within a level, UNSET
 *       inheriting, PERMISSIVE by default. DISABLE behaves as PERMISSIVE.
 *   <li>A selector policy outside the root namespace with port-level mTLS exceptions becomes the DENY policy
 *       {@code <ns>/converted_peer_authentication_<name>}, which matching workloads list instead of the static one.
 *   <li>A workload that is effectively STRICT without such exceptions lists the static strict policy.
 * </ul>
 */
final class PeerAuthenticationTranslator {
  static final String STATIC_STRICT_NAME = "istio_converted_static_strict";
  static final String CONVERTED_PREFIX = "converted_peer_authentication_";

  private PeerAuthenticationTranslator() {}

  /** The static policy that denies connections without a peer identity. */
  static Authorization staticStrict(String rootNamespace) {
    return Authorization.newBuilder().setName(STATIC_STRICT_NAME).setNamespace(rootNamespace)
        .setScope(Scope.WORKLOAD_SELECTOR).setAction(Action.DENY)
        .addRules(Rule.newBuilder().addClauses(Clause.newBuilder().addMatches(noIdentity()))).build();
  }

  private static Match.Builder noIdentity() {
    return Match.newBuilder().addNotPrincipals(StringMatch.newBuilder().setPresence(Empty.getDefaultInstance()));
  }

  /** Oldest first; no timestamp sorts last; then by name, for a stable answer. */
  static final Comparator<PeerAuthentication> OLDEST_FIRST = Comparator
      .comparing((PeerAuthentication p) -> p.metadata().creationTimestamp(),
          Comparator.nullsLast(Comparator.<Instant>naturalOrder()))
      .thenComparing(p -> p.metadata().name());

  /** The oldest mesh-level policy: root namespace, no selector (or one without labels). */
  static @Nullable PeerAuthentication meshLevel(List<PeerAuthentication> all, String rootNamespace) {
    return oldest(all, p -> p.metadata().namespace().equals(rootNamespace) && !p.spec().hasWorkloadSelector());
  }

  /** The oldest namespace-level policy of {@code namespace} (null for the root namespace: that is mesh level). */
  static @Nullable PeerAuthentication namespaceLevel(List<PeerAuthentication> all, String namespace,
      String rootNamespace) {
    return namespace.equals(rootNamespace) ? null
        : oldest(all, p -> p.metadata().namespace().equals(namespace) && !p.spec().hasWorkloadSelector());
  }

  /**
   * istiod's {@code convertPeerAuthentication}: the DENY policy for a selector PeerAuthentication with port-level
   * mTLS, or null when it needs none. {@code ns} and {@code root} are the namespace- and mesh-level policies.
   *
   * <p>Ported rule for rule, including one harmless istiod quirk: with a STRICT parent the merged
   * {@code not_principals} rule is appended even when the policy itself is STRICT (a repeated rule). We
   * deliberately do not copy a second one: istiod skips a STRICT port whenever the mesh is STRICT and the
   * namespace has no mode, even when the policy itself is PERMISSIVE (operator precedence), so the workload
   * lists a policy that is never published and plaintext reaches a port declared STRICT. Here a STRICT port
   * is skipped only when the policy's own effective mode is already STRICT (spec istio-ambient §4.6).
   */
  static @Nullable Authorization convert(PeerAuthentication pa, @Nullable PeerAuthentication ns,
      @Nullable PeerAuthentication root, String rootNamespace) {
    String namespace = pa.metadata().namespace();
    if (namespace.equals(rootNamespace) || pa.spec().selector() == null || pa.spec().ports().isEmpty()) {
      return null;
    }
    MtlsMode mode = pa.spec().mode();
    boolean nsStrict = ns != null && ns.spec().mode() == MtlsMode.STRICT;
    boolean nsUnset = ns == null || ns.spec().mode() == MtlsMode.UNSET;
    boolean rootStrict = root != null && root.spec().mode() == MtlsMode.STRICT;
    List<Clause> rules = new ArrayList<>();
    List<Rule> groups = new ArrayList<>();
    if (mode == MtlsMode.STRICT) {
      rules.add(clause(noIdentity()));
    }
    boolean foundNonStrictPort = false;
    for (var e : new TreeMap<>(pa.spec().ports()).entrySet()) {
      int port = e.getKey();
      MtlsMode portMode = e.getValue().effective();
      if (portMode == MtlsMode.STRICT) {
        boolean parentEnforces = mode == MtlsMode.STRICT
            || (mode == MtlsMode.UNSET && (nsStrict || (nsUnset && rootStrict)));
        if (!parentEnforces) {
          groups.add(Rule.newBuilder().addClauses(clause(noIdentity().addDestinationPorts(port))).build());
        }
      } else if (portMode == MtlsMode.PERMISSIVE || portMode == MtlsMode.DISABLE) {
        if (mode == MtlsMode.PERMISSIVE || mode == MtlsMode.DISABLE) {
          continue;
        }
        if (mode == MtlsMode.UNSET && ((ns != null && !nsStrict) || (ns == null && root != null && !rootStrict)
            || (ns == null && root == null))) {
          continue; // the effective parent is not STRICT: nothing to exempt
        }
        foundNonStrictPort = true;
        rules.add(clause(Match.newBuilder().addNotDestinationPorts(port)));
      }
    }
    if (mode == MtlsMode.STRICT && !foundNonStrictPort) {
      return null; // plain STRICT: the static policy covers it
    }
    if (rules.isEmpty() && groups.isEmpty()) {
      return null;
    }
    boolean mergeStrict = (rootStrict && (ns == null || nsUnset || nsStrict)) || nsStrict;
    if (mergeStrict && foundNonStrictPort) {
      rules.add(clause(noIdentity()));
    }
    if (!rules.isEmpty()) {
      groups.add(Rule.newBuilder().addAllClauses(rules).build());
    }
    return Authorization.newBuilder().setName(CONVERTED_PREFIX + pa.metadata().name()).setNamespace(namespace)
        .setScope(Scope.WORKLOAD_SELECTOR).setAction(Action.DENY).addAllRules(groups).build();
  }

  private static Clause clause(Match.Builder match) {
    return Clause.newBuilder().addMatches(match).build();
  }

  /** {@link #convert} with the namespace- and mesh-level policies looked up in {@code all}. */
  static @Nullable Authorization convert(PeerAuthentication pa, List<PeerAuthentication> all, String rootNamespace) {
    return convert(pa, namespaceLevel(all, pa.metadata().namespace(), rootNamespace), meshLevel(all, rootNamespace),
        rootNamespace);
  }

  /**
   * istiod's {@code convertedSelectorPeerAuthentications}: the names ({@code namespace/name}, sorted) a workload
   * lists in {@code authorization_policies} because of PeerAuthentications: the static strict policy, the
   * workload's converted port-level policy, or neither.
   */
  static List<String> policiesFor(String namespace, Map<String, String> labels, List<PeerAuthentication> all,
      String rootNamespace) {
    PeerAuthentication mesh = meshLevel(all, rootNamespace);
    PeerAuthentication ns = namespaceLevel(all, namespace, rootNamespace);
    PeerAuthentication workload = namespace.equals(rootNamespace) ? null : oldest(all,
        p -> p.metadata().namespace().equals(namespace) && p.spec().hasWorkloadSelector()
            && p.spec().selector() != null && p.spec().selector().matches(labels));
    boolean strict = mesh != null && mesh.spec().mode() == MtlsMode.STRICT;
    if (ns != null && ns.spec().mode() != MtlsMode.UNSET) {
      strict = ns.spec().mode() == MtlsMode.STRICT;
    }
    String portLevelKey = null;
    if (workload != null) {
      MtlsMode mode = workload.spec().mode();
      if (mode == MtlsMode.STRICT) {
        strict = true;
      } else if (mode == MtlsMode.PERMISSIVE || mode == MtlsMode.DISABLE) {
        strict = false;
      }
      var portModes = workload.spec().ports().values().stream().map(IstioSchema.Mtls::effective).toList();
      if (!portModes.isEmpty()) {
        String key = namespace + "/" + CONVERTED_PREFIX + workload.metadata().name();
        switch (mode) {
          case STRICT -> {
            if (portModes.contains(MtlsMode.PERMISSIVE) || portModes.contains(MtlsMode.DISABLE)) {
              portLevelKey = key;
              strict = false; // the converted policy carries the STRICT default itself
            }
          }
          case PERMISSIVE, DISABLE -> {
            if (portModes.contains(MtlsMode.STRICT)) {
              portLevelKey = key;
            }
          }
          case UNSET -> {
            if (strict) {
              if (portModes.contains(MtlsMode.PERMISSIVE)) { // istiod checks PERMISSIVE only here
                portLevelKey = key;
                strict = false; // merged into the converted policy
              }
            } else if (portModes.contains(MtlsMode.STRICT)) {
              portLevelKey = key;
            }
          }
        }
      }
    }
    TreeSet<String> out = new TreeSet<>();
    if (strict) {
      out.add(rootNamespace + "/" + STATIC_STRICT_NAME);
    }
    if (portLevelKey != null) {
      out.add(portLevelKey);
    }
    return List.copyOf(out);
  }

  private static @Nullable PeerAuthentication oldest(List<PeerAuthentication> all,
      java.util.function.Predicate<PeerAuthentication> filter) {
    return all.stream().filter(filter).min(OLDEST_FIRST).orElse(null);
  }
}
