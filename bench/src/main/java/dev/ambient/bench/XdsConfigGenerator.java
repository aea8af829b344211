package dev.ambient.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;

/**
 * Writes a control-plane config directory (docs/control-plane-config.md) of a given size for
 * {@link XdsBench}: {@code workloads} pods, each an endpoint of one of {@code services} services,
 * and {@code policies} policies, spread over namespaces {@code ns-00...}. Half the policies are
 * ztunnel local-config policies (scope Namespace), half Istio {@code AuthorizationPolicy} objects
 * with a {@code selector}, which the loader lists in the selected workloads'
 * {@code authorization_policies}, as istiod does.
 *
 * <p>Addresses: workload IPs are 198.18.0.1 upwards, then 198.19.128.0/17 (at most 50,000 of
 * them, the benchmarking range RFC 2544 only); service VIPs are in 198.19.0.0/17.
 *
 * <p>Files: {@code ns-XX/workloads.yaml} (that namespace's services and workloads, local config) and
 * {@code ns-XX/policies.yaml} (its local policies, then its AuthorizationPolicies as separate
 * documents). {@link #rewriteWorkloads} and {@link #rewritePolicies} replace one file atomically
 * (written next to the directory, then renamed over the old file), as a ConfigMap update does.
 */
public final class XdsConfigGenerator {
  static final int PODS_PER_IP_BLOCK = 250;

  final Path dir;
  final int workloads;
  final int services;
  final int policies;
  final int namespaces;
  /** Changed canonicalRevision per workload index (default "v1"). */
  private final Map<Integer, String> revisions = new HashMap<>();
  /** Namespaces that currently carry the extra policy {@link #EXTRA_POLICY}. */
  private final Map<Integer, Boolean> extraPolicy = new HashMap<>();
  static final String EXTRA_POLICY = "bench-extra";

  public XdsConfigGenerator(Path dir, int workloads, int services, int policies, int namespaces) {
    if (workloads < services || services < namespaces || policies < 2 * namespaces || workloads > 50_000
        || services > 32_000) {
      throw new IllegalArgumentException("need workloads >= services >= namespaces, policies >= 2 x namespaces,"
          + " workloads <= 50000, services <= 32000");
    }
    this.dir = dir;
    this.workloads = workloads;
    this.services = services;
    this.policies = policies;
    this.namespaces = namespaces;
  }

  public static void main(String[] args) throws IOException {
    if (args.length < 1) {
      System.err.println("usage: XdsConfigGenerator DIR [workloads services policies namespaces]");
      System.exit(2);
    }
    XdsConfigGenerator g = args.length >= 5
        ? new XdsConfigGenerator(Path.of(args[0]), Integer.parseInt(args[1]), Integer.parseInt(args[2]),
            Integer.parseInt(args[3]), Integer.parseInt(args[4]))
        : new XdsConfigGenerator(Path.of(args[0]), 10_000, 1_000, 1_000, 50);
    System.out.println(g.writeAll() + " bytes of YAML in " + g.dir);
  }

  /** Writes every file; returns the total size in bytes. */
  public long writeAll() throws IOException {
    Files.createDirectories(dir);
    long total = 0;
    for (int ns = 0; ns < namespaces; ns++) {
      Path nsDir = dir.resolve(nsName(ns));
      Files.createDirectories(nsDir);
      byte[] w = workloadsYaml(ns).getBytes(StandardCharsets.UTF_8);
      byte[] p = policiesYaml(ns).getBytes(StandardCharsets.UTF_8);
      Files.write(nsDir.resolve("workloads.yaml"), w);
      Files.write(nsDir.resolve("policies.yaml"), p);
      total += w.length + p.length;
    }
    return total;
  }

  // ---- the model ----

  static String nsName(int ns) {
    return String.format(Locale.ROOT, "ns-%02d", ns);
  }

  /** Services are assigned to namespaces round-robin by block: service s is in namespace s % namespaces. */
  int serviceNamespace(int s) {
    return s % namespaces;
  }

  /** Workload w is an endpoint of service w % services. */
  int workloadService(int w) {
    return w % services;
  }

  int workloadNamespace(int w) {
    return serviceNamespace(workloadService(w));
  }

  static String serviceName(int s) {
    return String.format(Locale.ROOT, "svc-%04d", s);
  }

  String hostname(int s) {
    return serviceName(s) + "." + nsName(serviceNamespace(s)) + ".svc.cluster.local";
  }

  /** A pod name in the style of a Deployment's: {@code <svc>-<replicaset hash>-<pod hash>}. */
  String podName(int w) {
    int s = workloadService(w);
    return String.format(Locale.ROOT, "%s-%08x-%05x", serviceName(s), (s * 2654435761L) & 0xffffffffL,
        (w * 40503L) & 0xfffff);
  }

  String uid(int w) {
    return "Kubernetes//Pod/" + nsName(workloadNamespace(w)) + "/" + podName(w);
  }

  static String workloadIp(int w) {
    if (w < 256 * PODS_PER_IP_BLOCK) {
      return "198.18." + (w / PODS_PER_IP_BLOCK) + "." + (w % PODS_PER_IP_BLOCK + 1);
    }
    int x = w - 256 * PODS_PER_IP_BLOCK;
    return "198.19." + (128 + x / PODS_PER_IP_BLOCK) + "." + (x % PODS_PER_IP_BLOCK + 1);
  }

  static String serviceVip(int s) {
    return "198.19." + (s / PODS_PER_IP_BLOCK) + "." + (s % PODS_PER_IP_BLOCK + 1);
  }

  String revision(int w) {
    return revisions.getOrDefault(w, "v1");
  }

  // ---- YAML ----

  String workloadsYaml(int ns) {
    StringBuilder y = new StringBuilder(256 * 1024);
    String n = nsName(ns);
    y.append("# generated by XdsConfigGenerator: services and workloads of namespace ").append(n).append('\n');
    y.append("services:\n");
    for (int s = ns; s < services; s += namespaces) {
      y.append("- name: ").append(serviceName(s)).append('\n')
          .append("  namespace: ").append(n).append('\n')
          .append("  hostname: ").append(hostname(s)).append('\n')
          .append("  vips: [\"/").append(serviceVip(s)).append("\"]\n")
          .append("  ports: {80: 8080, 443: 8443}\n")
          .append("  subjectAltNames: [\"spiffe://cluster.local/ns/").append(n).append("/sa/").append(serviceName(s))
          .append("\"]\n")
          .append("  ipFamilies: IPv4\n");
    }
    y.append("workloads:\n");
    for (int w = 0; w < workloads; w++) {
      if (workloadNamespace(w) != ns) {
        continue;
      }
      int s = workloadService(w);
      String svc = serviceName(s);
      y.append("- uid: ").append(uid(w)).append('\n')
          .append("  name: ").append(podName(w)).append('\n')
          .append("  namespace: ").append(n).append('\n')
          .append("  serviceAccount: ").append(svc).append('\n')
          .append("  trustDomain: cluster.local\n")
          .append("  node: ").append(String.format(Locale.ROOT, "node-%03d", w % 100)).append('\n')
          .append("  workloadIps: [\"").append(workloadIp(w)).append("\"]\n")
          .append("  protocol: HBONE\n")
          .append("  workloadName: ").append(svc).append('\n')
          .append("  workloadType: Deployment\n")
          .append("  canonicalName: ").append(svc).append('\n')
          .append("  canonicalRevision: ").append(revision(w)).append('\n')
          .append("  clusterId: Kubernetes\n")
          .append("  status: Healthy\n")
          .append("  locality: {region: r1, zone: z").append(w % 3).append("}\n")
          .append("  services:\n")
          .append("    \"").append(n).append('/').append(hostname(s)).append("\": {80: 8080, 443: 8443}\n")
          .append("  labels: {app: ").append(svc).append(", version: ").append(revision(w)).append("}\n");
    }
    return y.toString();
  }

  String policiesYaml(int ns) {
    String n = nsName(ns);
    int perNs = policies / namespaces + (ns < policies % namespaces ? 1 : 0);
    int local = perNs / 2;
    StringBuilder y = new StringBuilder(32 * 1024);
    y.append("# generated by XdsConfigGenerator: policies of namespace ").append(n).append('\n');
    y.append("policies:\n");
    for (int i = 0; i < local; i++) {
      appendLocalPolicy(y, n, String.format(Locale.ROOT, "allow-ns-%03d", i), i);
    }
    if (extraPolicy.getOrDefault(ns, false)) {
      appendLocalPolicy(y, n, EXTRA_POLICY, 7);
    }
    for (int i = local; i < perNs; i++) {
      // selects the pods of one of this namespace's services; allows callers from the namespace and one other
      int s = ns + ((i - local) % Math.max(1, services / namespaces)) * namespaces;
      String other = nsName((ns + 1 + i) % namespaces);
      y.append("---\n")
          .append("apiVersion: security.istio.io/v1\n")
          .append("kind: AuthorizationPolicy\n")
          .append("metadata: {name: ").append(String.format(Locale.ROOT, "allow-%s-%03d", serviceName(s), i))
          .append(", namespace: ").append(n).append("}\n")
          .append("spec:\n")
          .append("  selector: {matchLabels: {app: ").append(serviceName(s)).append("}}\n")
          .append("  action: ALLOW\n")
          .append("  rules:\n")
          .append("  - from:\n")
          .append("    - source: {principals: [\"cluster.local/ns/").append(other).append("/sa/*\"]}\n")
          .append("    - source: {namespaces: [\"").append(n).append("\"]}\n")
          .append("    to:\n")
          .append("    - operation: {ports: [\"8080\", \"8443\"]}\n");
    }
    return y.toString();
  }

  private static void appendLocalPolicy(StringBuilder y, String n, String name, int i) {
    y.append("- name: ").append(name).append('\n')
        .append("  namespace: ").append(n).append('\n')
        .append("  scope: Namespace\n")
        .append("  action: ").append(i % 5 == 4 ? "Deny" : "Allow").append('\n')
        .append("  dryRun: false\n")
        .append("  rules:\n")
        .append("  - - - principals: [{Exact: \"cluster.local/ns/").append(n).append("/sa/svc-").append(i).append("\"}]\n")
        .append("      - namespaces: [{Prefix: \"ns-").append(i % 10).append("\"}]\n")
        .append("    - - destinationPorts: [8080, 8443]\n")
        .append("      - sourceIps: [\"198.18.").append(i % 40).append(".0/24\"]\n");
  }

  // ---- changes ----

  /** Sets workload {@code w}'s canonicalRevision and rewrites its namespace's workloads file. */
  void setRevision(int w, String revision) throws IOException {
    revisions.put(w, revision);
    int ns = workloadNamespace(w);
    replace(dir.resolve(nsName(ns)).resolve("workloads.yaml"), workloadsYaml(ns));
  }

  /** Adds or removes the policy {@code ns-XX/bench-extra}; returns whether it is now present. */
  boolean toggleExtraPolicy(int ns) throws IOException {
    boolean now = !extraPolicy.getOrDefault(ns, false);
    extraPolicy.put(ns, now);
    replace(dir.resolve(nsName(ns)).resolve("policies.yaml"), policiesYaml(ns));
    return now;
  }

  /** Writes next to the config directory (not watched, same file system), then renames over {@code file}. */
  private void replace(Path file, String content) throws IOException {
    Path tmp = dir.resolveSibling(dir.getFileName() + ".tmp-" + file.getParent().getFileName() + "-" + file.getFileName());
    Files.writeString(tmp, content);
    Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
  }
}
