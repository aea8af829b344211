package dev.ambient.lab;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.stream.Collectors;
import org.jspecify.annotations.Nullable;

/**
 * How istiod turns a Kubernetes pod into a ztunnel {@code Workload} (istio-ambient spec §4.3), for the
 * fields the lab uses; pure. The result is one document of the control plane's local-config format
 * (docs/control-plane-config.md).
 */
final class PodWorkloads {
  static final String CLUSTER_ID = "Kubernetes";
  static final String REDIRECTION = "ambient.istio.io/redirection";

  private PodWorkloads() {}

  /** What the publisher reads from a pod. */
  record PodFacts(
      String namespace,
      String name,
      String serviceAccount,
      String node,
      List<String> ips,
      Map<String, String> labels,
      Map<String, String> annotations,
      String phase,
      boolean ready,
      boolean deleting,
      boolean hostNetwork) {}

  /** The workload istiod would publish for a pod. */
  record Workload(
      String uid,
      String namespace,
      String name,
      String serviceAccount,
      String node,
      List<String> ips,
      String protocol,
      boolean nativeTunnel,
      boolean hostNetwork,
      boolean healthy,
      String canonicalName,
      String canonicalRevision,
      Map<String, String> labels,
      Map<String, Map<Integer, Integer>> services) {

    /** The local-config YAML document ({@code workloads: [...]}) for this workload. */
    String yaml() {
      StringBuilder b = new StringBuilder();
      b.append("# published by the lab from pod ").append(namespace).append('/').append(name).append('\n');
      b.append("workloads:\n");
      b.append("- uid: ").append(q(uid)).append('\n');
      b.append("  name: ").append(q(name)).append('\n');
      b.append("  namespace: ").append(q(namespace)).append('\n');
      b.append("  serviceAccount: ").append(q(serviceAccount)).append('\n');
      b.append("  node: ").append(q(node)).append('\n');
      b.append("  clusterId: ").append(q(CLUSTER_ID)).append('\n');
      b.append("  workloadIps: [").append(ips.stream().map(PodWorkloads::q).collect(Collectors.joining(", ")))
          .append("]\n");
      b.append("  protocol: ").append(protocol).append('\n');
      if (nativeTunnel) {
        b.append("  nativeTunnel: true\n");
      }
      b.append("  networkMode: ").append(hostNetwork ? "HostNetwork" : "Standard").append('\n');
      b.append("  workloadName: ").append(q(name)).append('\n');
      b.append("  workloadType: Pod\n");
      b.append("  canonicalName: ").append(q(canonicalName)).append('\n');
      b.append("  canonicalRevision: ").append(q(canonicalRevision)).append('\n');
      b.append("  status: ").append(healthy ? "Healthy" : "Unhealthy").append('\n');
      b.append("  labels: {").append(labels.entrySet().stream().map(e -> q(e.getKey()) + ": " + q(e.getValue()))
          .collect(Collectors.joining(", "))).append("}\n");
      if (!services.isEmpty()) {
        b.append("  services:\n");
        services.forEach((k, ports) -> b.append("    ").append(q(k)).append(": {").append(ports.entrySet().stream()
            .map(e -> e.getKey() + ": " + e.getValue()).collect(Collectors.joining(", "))).append("}\n"));
      }
      return b.toString();
    }
  }

  /** The uid istiod gives a pod: {@code Kubernetes//Pod/<namespace>/<name>}. */
  static String uid(String namespace, String name) {
    return CLUSTER_ID + "//Pod/" + namespace + "/" + name;
  }

  /** The workload of a pod that no service selects. */
  static Optional<Workload> of(PodFacts pod) {
    return of(pod, Map.of());
  }

  /**
   * The workload of a pod, or empty when istiod publishes none (no IP yet, or the pod is terminal); {@code services}
   * is its map of selecting services ({@link LabServices#servicesOf}).
   */
  static Optional<Workload> of(PodFacts pod, Map<String, Map<Integer, Integer>> services) {
    if (pod.ips().isEmpty() || pod.phase().equals("Succeeded") || pod.phase().equals("Failed")) {
      return Optional.empty();
    }
    boolean enabled = "enabled".equals(pod.annotations().get(REDIRECTION));
    String tunnelLabel = pod.labels().getOrDefault("networking.istio.io/tunnel", "");
    boolean nativeTunnel = !enabled && tunnelLabel.contains("http");
    String protocol = enabled || nativeTunnel ? "HBONE" : "TCP";
    String sa = pod.serviceAccount().isEmpty() ? "default" : pod.serviceAccount();
    return Optional.of(new Workload(uid(pod.namespace(), pod.name()), pod.namespace(), pod.name(), sa, pod.node(),
        List.copyOf(pod.ips()), protocol, nativeTunnel, pod.hostNetwork(), pod.ready() && !pod.deleting(),
        first(pod.labels(), pod.name(), "service.istio.io/canonical-name", "app.kubernetes.io/name", "app"),
        first(pod.labels(), "latest", "service.istio.io/canonical-revision", "app.kubernetes.io/version", "version"),
        new TreeMap<>(pod.labels()), new TreeMap<>(services)));
  }

  private static String first(Map<String, String> labels, String fallback, String... keys) {
    for (String k : keys) {
      @Nullable String v = labels.get(k);
      if (v != null && !v.isEmpty()) {
        return v;
      }
    }
    return fallback;
  }

  /** A YAML double-quoted scalar (JSON string escaping is valid YAML). */
  static String q(String s) {
    StringBuilder b = new StringBuilder("\"");
    for (char c : s.toCharArray()) {
      switch (c) {
        case '"' -> b.append("\\\"");
        case '\\' -> b.append("\\\\");
        case '\n' -> b.append("\\n");
        case '\t' -> b.append("\\t");
        default -> {
          if (c < 0x20) {
            b.append(String.format("\\u%04x", (int) c));
          } else {
            b.append(c);
          }
        }
      }
    }
    return b.append('"').toString();
  }
}
