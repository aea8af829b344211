package dev.ambient.cni.agent;

import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * istio-cni's "is this pod ambient?" decision (spec §1.7), shared by the plugin and the agent.
 * Pure: it looks only at the pod and namespace facts it is given.
 *
 * <p>Order: excluded namespace, host network, sidecar (an {@code istio-proxy} container or the
 * {@code sidecar.istio.io/status} annotation), explicit pod opt-out ({@code istio.io/dataplane-mode=none}),
 * then the enablement selectors (any pair matching enrols the pod).
 */
public final class Enrollment {
  public static final String DATAPLANE_MODE = "istio.io/dataplane-mode";
  public static final String AMBIENT = "ambient";
  public static final String NONE = "none";
  public static final String SIDECAR_STATUS = "sidecar.istio.io/status";
  public static final String SIDECAR_CONTAINER = "istio-proxy";
  public static final Set<String> DEFAULT_EXCLUDED_NAMESPACES = Set.of("kube-system", "istio-system");

  /** Why a pod is or is not ambient. */
  public enum Decision {
    AMBIENT(true),
    EXCLUDED_NAMESPACE(false),
    HOST_NETWORK(false),
    SIDECAR(false),
    OPTED_OUT(false),
    NO_SELECTOR_MATCH(false);

    private final boolean ambient;

    Decision(boolean ambient) {
      this.ambient = ambient;
    }

    public boolean ambient() {
      return ambient;
    }
  }

  private final List<EnablementSelector> selectors;
  private final Set<String> excludedNamespaces;

  public Enrollment(List<EnablementSelector> selectors, Set<String> excludedNamespaces) {
    this.selectors = List.copyOf(selectors);
    this.excludedNamespaces = Set.copyOf(excludedNamespaces);
  }

  /** Default selectors and the default excluded namespaces. */
  public static Enrollment defaults() {
    return new Enrollment(EnablementSelector.DEFAULTS, DEFAULT_EXCLUDED_NAMESPACES);
  }

  public boolean excludedNamespace(String namespace) {
    return excludedNamespaces.contains(namespace);
  }

  public Decision decide(PodInfo pod, Map<String, String> namespaceLabels) {
    if (excludedNamespaces.contains(pod.namespace())) {
      return Decision.EXCLUDED_NAMESPACE;
    }
    if (pod.hostNetwork()) {
      return Decision.HOST_NETWORK;
    }
    if (pod.annotations().containsKey(SIDECAR_STATUS) || pod.containerNames().contains(SIDECAR_CONTAINER)) {
      return Decision.SIDECAR;
    }
    if (NONE.equals(pod.labels().get(DATAPLANE_MODE))) {
      return Decision.OPTED_OUT;
    }
    for (EnablementSelector s : selectors) {
      if (s.matches(pod.labels(), namespaceLabels)) {
        return Decision.AMBIENT;
      }
    }
    return Decision.NO_SELECTOR_MATCH;
  }

  /**
   * Whether any non-empty namespace selector matches these namespace labels: the agent re-queues a
   * namespace's pods when this flips (spec §1.7).
   */
  public boolean namespaceSelected(Map<String, String> namespaceLabels) {
    for (EnablementSelector s : selectors) {
      if (!s.namespaceSelector().isEmpty() && s.namespaceSelector().matches(namespaceLabels)) {
        return true;
      }
    }
    return false;
  }
}
