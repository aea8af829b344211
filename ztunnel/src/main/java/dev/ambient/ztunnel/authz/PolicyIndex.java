package dev.ambient.ztunnel.authz;

import static java.util.Objects.requireNonNull;

import dev.ambient.xds.client.Authorization;
import dev.ambient.xds.client.Workload;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;

/**
 * An immutable snapshot of the authorization policies, indexed by scope (spec §2.8): GLOBAL
 * policies under the empty key, NAMESPACE policies under their namespace, WORKLOAD_SELECTOR
 * policies only by name, found through {@link Workload#authorizationPolicies()}.
 *
 * <p>Build one per Authorization xDS batch off the data path, publish it with one volatile write,
 * and hand it to {@link Authorizer} and {@link LiveConnections#reevaluate}. Matchers are compiled
 * here so that authorizing allocates little. Thread-safe (immutable).
 */
public final class PolicyIndex {
  // Declared before EMPTY: static initializers run in order.
  private static final AtomicLong GENERATIONS = new AtomicLong();

  /** No policies: everything is allowed. */
  public static final PolicyIndex EMPTY = of(Map.of());

  private final long generation;
  private final Map<String, CompiledPolicy> byName;
  private final List<CompiledPolicy> global;
  /** Namespace -> that namespace's NAMESPACE policies followed by the GLOBAL ones. */
  private final Map<String, List<CompiledPolicy>> namespaceAndGlobal;

  private PolicyIndex(Map<String, Authorization> policies) {
    generation = GENERATIONS.incrementAndGet();
    Map<String, CompiledPolicy> names = new HashMap<>();
    List<CompiledPolicy> globals = new ArrayList<>();
    Map<String, List<CompiledPolicy>> namespaces = new HashMap<>();
    // Sorted by name so that the order of evaluation (and of dry-run reports) is deterministic.
    policies.entrySet().stream().sorted(Map.Entry.comparingByKey()).forEach(e -> {
      String name = requireNonNull(e.getKey(), "policy name");
      CompiledPolicy p = new CompiledPolicy(requireNonNull(e.getValue(), "policy " + name));
      names.put(name, p);
      switch (p.policy.scope()) {
        case GLOBAL -> globals.add(p);
        case NAMESPACE -> namespaces.computeIfAbsent(p.policy.namespace(), ns -> new ArrayList<>()).add(p);
        case WORKLOAD_SELECTOR -> { } // only by name
      }
    });
    byName = Map.copyOf(names);
    global = List.copyOf(globals);
    Map<String, List<CompiledPolicy>> combined = new HashMap<>();
    namespaces.forEach((ns, list) -> {
      List<CompiledPolicy> all = new ArrayList<>(list);
      all.addAll(globals);
      combined.put(ns, List.copyOf(all));
    });
    namespaceAndGlobal = Map.copyOf(combined);
  }

  /**
   * Indexes {@code policies}, keyed by xDS resource name ({@code namespace/name}, the form {@link
   * Workload#authorizationPolicies()} uses).
   */
  public static PolicyIndex of(Map<String, Authorization> policies) {
    return new PolicyIndex(requireNonNull(policies, "policies"));
  }

  /** The policy with resource name {@code name}, whatever its scope. */
  public Optional<Authorization> get(String name) {
    CompiledPolicy p = byName.get(requireNonNull(name, "name"));
    return p == null ? Optional.empty() : p.asOptional;
  }

  /** Every policy, in name order (for the config dump). */
  public java.util.List<Authorization> policies() {
    return byName.keySet().stream().sorted().map(n -> byName.get(n).policy).toList();
  }

  public int size() {
    return byName.size();
  }

  /**
   * The policies that apply to {@code destination} (spec §6.2): its namespace's NAMESPACE
   * policies, the GLOBAL ones, and the policies it names; unknown names are skipped. Each policy
   * appears once.
   */
  public List<Authorization> policiesFor(Workload destination) {
    return compiledFor(destination, AuthorizationObserver.NONE).stream().map(p -> p.policy).toList();
  }

  /** Allocates only when the workload names policies of its own. */
  List<CompiledPolicy> compiledFor(Workload destination, AuthorizationObserver observer) {
    List<CompiledPolicy> base = namespaceAndGlobal.getOrDefault(destination.namespace(), global);
    List<String> names = destination.authorizationPolicies();
    if (names.isEmpty()) {
      return base;
    }
    List<CompiledPolicy> all = new ArrayList<>(base.size() + names.size());
    all.addAll(base);
    for (int i = 0; i < names.size(); i++) {
      String name = names.get(i);
      CompiledPolicy p = byName.get(name);
      if (p == null) {
        observer.onUnknownPolicy(destination, name);
      } else if (!all.contains(p)) { // e.g. a workload naming a NAMESPACE policy it already gets
        all.add(p);
      }
    }
    return all;
  }

  /** Strictly increasing in construction order: a later index is newer config. */
  long generation() {
    return generation;
  }

  @Override
  public String toString() {
    return "PolicyIndex{generation=" + generation + ", policies=" + byName.keySet() + "}";
  }
}
