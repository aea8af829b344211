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
import org.jspecify.annotations.Nullable;

/**
 * Istio {@code PeerAuthentication}s as istiod turns them into ztunnel DENY policies (istio-ambient.md §4.6).
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

  /** The mesh- or namespace-level mode inherited by selector policies in {@code namespace}. */
  static MtlsMode parentMode(List<PeerAuthentication> all, String namespace, String rootNamespace) {
    MtlsMode mode = MtlsMode.UNSET;
    PeerAuthentication mesh = oldest(all, p -> p.metadata().namespace().equals(rootNamespace)
        && !p.spec().hasWorkloadSelector());
    if (mesh != null && mesh.spec().mode() != MtlsMode.UNSET) {
      mode = mesh.spec().mode();
    }
    if (!namespace.equals(rootNamespace)) {
      PeerAuthentication ns = oldest(all, p -> p.metadata().namespace().equals(namespace)
          && !p.spec().hasWorkloadSelector());
      if (ns != null && ns.spec().mode() != MtlsMode.UNSET) {
        mode = ns.spec().mode();
      }
    }
    return mode;
  }

  /**
   * The converted port-level policy of a selector PeerAuthentication, or null when it needs none (no port
   * exceptions, root namespace, or no selector).
   */
  static @Nullable Authorization convert(PeerAuthentication pa, List<PeerAuthentication> all, String rootNamespace) {
    String namespace = pa.metadata().namespace();
    if (namespace.equals(rootNamespace) || !pa.spec().hasWorkloadSelector() || pa.spec().ports().isEmpty()) {
      return null;
    }
    MtlsMode mode = pa.spec().mode() != MtlsMode.UNSET ? pa.spec().mode() : parentMode(all, namespace, rootNamespace);
    boolean strict = mode == MtlsMode.STRICT;
    List<Integer> exceptions = new ArrayList<>();
    for (var e : new TreeMap<>(pa.spec().ports()).entrySet()) {
      MtlsMode portMode = e.getValue().effective();
      boolean portStrict = portMode == MtlsMode.STRICT;
      boolean portLax = portMode == MtlsMode.PERMISSIVE || portMode == MtlsMode.DISABLE;
      if (strict ? portLax : portStrict) {
        exceptions.add(e.getKey());
      }
    }
    if (exceptions.isEmpty()) {
      return null;
    }
    Authorization.Builder out = Authorization.newBuilder().setName(CONVERTED_PREFIX + pa.metadata().name())
        .setNamespace(namespace).setScope(Scope.WORKLOAD_SELECTOR).setAction(Action.DENY);
    if (strict) {
      // deny plaintext unless it is to one of the exempt ports
      Rule.Builder rule = Rule.newBuilder().addClauses(Clause.newBuilder().addMatches(noIdentity()));
      for (int port : exceptions) {
        rule.addClauses(Clause.newBuilder().addMatches(Match.newBuilder().addNotDestinationPorts(port)));
      }
      out.addRules(rule);
    } else {
      // deny plaintext to each STRICT port
      for (int port : exceptions) {
        out.addRules(Rule.newBuilder().addClauses(Clause.newBuilder()
            .addMatches(noIdentity().addDestinationPorts(port))));
      }
    }
    return out.build();
  }

  /**
   * The PeerAuthentication-derived policy names ({@code namespace/name}) a workload lists in
   * {@code authorization_policies}: the converted port-level policy, the static strict one, or none.
   */
  static List<String> policiesFor(String namespace, Map<String, String> labels, List<PeerAuthentication> all,
      String rootNamespace) {
    MtlsMode parent = parentMode(all, namespace, rootNamespace);
    boolean strict = parent == MtlsMode.STRICT;
    PeerAuthentication workload = namespace.equals(rootNamespace) ? null : oldest(all,
        p -> p.metadata().namespace().equals(namespace) && p.spec().hasWorkloadSelector()
            && p.spec().selector() != null && p.spec().selector().matches(labels));
    if (workload != null) {
      MtlsMode mode = workload.spec().mode();
      if (mode == MtlsMode.STRICT) {
        strict = true;
      } else if (mode == MtlsMode.PERMISSIVE || mode == MtlsMode.DISABLE) {
        strict = false;
      }
      if (convert(workload, all, rootNamespace) != null) {
        return List.of(namespace + "/" + CONVERTED_PREFIX + workload.metadata().name());
      }
    }
    return strict ? List.of(rootNamespace + "/" + STATIC_STRICT_NAME) : List.of();
  }

  private static @Nullable PeerAuthentication oldest(List<PeerAuthentication> all,
      java.util.function.Predicate<PeerAuthentication> filter) {
    return all.stream().filter(filter).min(OLDEST_FIRST).orElse(null);
  }
}
