package dev.ambient.xds.config;

import static java.util.Objects.requireNonNull;

import dev.ambient.xds.api.security.Authorization;
import dev.ambient.xds.api.security.Scope;
import dev.ambient.xds.config.IstioSchema.AuthorizationPolicy;
import dev.ambient.xds.config.IstioSchema.IstioObject;
import dev.ambient.xds.config.IstioSchema.PeerAuthentication;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * Translates a set of Istio security objects for a set of workloads: the {@code Authorization} resources istiod
 * would send, and, per workload uid, the selector-bound policy names it must list in
 * {@code Workload.authorization_policies}.
 */
final class IstioTranslator {
  /** Istio's default root namespace. */
  static final String DEFAULT_ROOT_NAMESPACE = "istio-system";

  /** What a selector needs to know about a workload. */
  record WorkloadRef(String uid, String namespace, Map<String, String> labels) {
    WorkloadRef {
      requireNonNull(uid, "uid");
      requireNonNull(namespace, "namespace");
      labels = Map.copyOf(labels);
    }
  }

  /**
   * @param policies by resource name {@code namespace/name}, in input order
   * @param workloadPolicies by workload uid, sorted names; workloads without any are absent
   * @param warnings by {@link IstioObject#key()}: what was not sent or only partly enforced, and why
   */
  record Translation(
      Map<String, Authorization> policies, Map<String, List<String>> workloadPolicies,
      Map<String, List<String>> warnings) {
    Translation {
      policies = LocalConfig.frozen(policies);
      workloadPolicies = LocalConfig.frozen(workloadPolicies);
      warnings = LocalConfig.frozen(warnings);
    }
  }

  private IstioTranslator() {}

  static Translation translate(List<? extends IstioObject> objects, List<WorkloadRef> workloads, String rootNamespace) {
    Map<String, Authorization> policies = new LinkedHashMap<>();
    Map<String, TreeSet<String>> bound = new LinkedHashMap<>();
    Map<String, List<String>> warnings = new LinkedHashMap<>();
    List<PeerAuthentication> peerAuthentications = new ArrayList<>();
    // A selector policy outside the root namespace only binds workloads of its own namespace: look those up
    // instead of scanning every workload for every policy (10,000 workloads x 500 policies took ~1 s a reload).
    Map<String, List<WorkloadRef>> byNamespace = new HashMap<>();
    for (WorkloadRef w : workloads) {
      byNamespace.computeIfAbsent(w.namespace(), k -> new ArrayList<>()).add(w);
    }
    for (IstioObject o : objects) {
      switch (o) {
        case AuthorizationPolicy ap -> {
          Authorization a = AuthorizationPolicyTranslator.translate(ap, rootNamespace,
              w -> warnings.computeIfAbsent(o.key(), k -> new ArrayList<>()).add(w));
          if (a == null) {
            continue;
          }
          String name = a.getNamespace() + "/" + a.getName();
          policies.put(name, a);
          if (a.getScope() == Scope.WORKLOAD_SELECTOR && ap.spec().selector() != null) {
            List<WorkloadRef> candidates = a.getNamespace().equals(rootNamespace)
                ? workloads : byNamespace.getOrDefault(a.getNamespace(), List.of());
            for (WorkloadRef w : candidates) {
              if (ap.spec().selector().matches(w.labels())) {
                bound.computeIfAbsent(w.uid(), k -> new TreeSet<>()).add(name);
              }
            }
          }
        }
        case PeerAuthentication pa -> peerAuthentications.add(pa);
      }
    }
    if (!peerAuthentications.isEmpty()) {
      Authorization strict = PeerAuthenticationTranslator.staticStrict(rootNamespace);
      policies.put(rootNamespace + "/" + strict.getName(), strict);
      for (PeerAuthentication pa : peerAuthentications) {
        Authorization converted = PeerAuthenticationTranslator.convert(pa, peerAuthentications, rootNamespace);
        if (converted != null) {
          policies.put(converted.getNamespace() + "/" + converted.getName(), converted);
        }
      }
      for (WorkloadRef w : workloads) {
        for (String name : PeerAuthenticationTranslator.policiesFor(
            w.namespace(), w.labels(), peerAuthentications, rootNamespace)) {
          bound.computeIfAbsent(w.uid(), k -> new TreeSet<>()).add(name);
        }
      }
    }
    Map<String, List<String>> workloadPolicies = new LinkedHashMap<>();
    bound.forEach((uid, names) -> workloadPolicies.put(uid, List.copyOf(names)));
    Map<String, List<String>> frozenWarnings = new LinkedHashMap<>();
    warnings.forEach((k, v) -> frozenWarnings.put(k, List.copyOf(v)));
    return new Translation(policies, workloadPolicies, frozenWarnings);
  }
}
