package dev.ambient.lab;

import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServicePort;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Collectors;
import org.jspecify.annotations.Nullable;

/**
 * How istiod turns a Kubernetes {@code Service} into a ztunnel {@code Service} and into the {@code services} map of
 * every pod it selects (istio-ambient spec §4.3–§4.4), for the fields the lab uses; pure. VIPs the user did not give
 * are allocated, as the API server would, from the lab's own range {@code 198.19.S.0/24} (S = the lab's subnet).
 */
final class LabServices {
  static final String DOMAIN = "svc.cluster.local";
  static final String VIP_PREFIX = "198.19.";

  private LabServices() {}

  /** One service port: {@code targetPort} 0 means a named target port (lab pods name no ports, so no endpoint). */
  record Port(int port, int targetPort) {}

  /** The facts the lab reads from a Service. */
  record ServiceFacts(String namespace, String name, Map<String, String> selector, List<Port> ports,
      List<String> vips) {

    String hostname() {
      return name + "." + namespace + "." + DOMAIN;
    }

    /** The key of the service in a workload's {@code services} map and the resource name. */
    String key() {
      return namespace + "/" + hostname();
    }

    /** Whether this service selects a pod (same namespace, a non-empty selector that the labels satisfy). */
    boolean selects(String podNamespace, Map<String, String> podLabels) {
      return namespace.equals(podNamespace) && !selector.isEmpty()
          && selector.entrySet().stream().allMatch(e -> e.getValue().equals(podLabels.get(e.getKey())));
    }

    /** The local-config YAML document ({@code services: [...]}) for this service. */
    String yaml() {
      StringBuilder b = new StringBuilder();
      b.append("# published by the lab from service ").append(namespace).append('/').append(name).append('\n');
      b.append("services:\n");
      b.append("- name: ").append(PodWorkloads.q(name)).append('\n');
      b.append("  namespace: ").append(PodWorkloads.q(namespace)).append('\n');
      b.append("  hostname: ").append(PodWorkloads.q(hostname())).append('\n');
      b.append("  vips: [").append(vips.stream().map(v -> PodWorkloads.q("/" + v)).collect(Collectors.joining(", ")))
          .append("]\n");
      b.append("  ports: {").append(ports.stream().map(p -> p.port() + ": " + p.targetPort())
          .collect(Collectors.joining(", "))).append("}\n");
      b.append("  canonical: true\n");
      return b.toString();
    }
  }

  /** The facts of a Service as stored in the lab's API server. */
  static ServiceFacts facts(Service svc) {
    var meta = svc.getMetadata();
    var spec = svc.getSpec();
    List<Port> ports = new ArrayList<>();
    List<String> vips = new ArrayList<>();
    Map<String, String> selector = Map.of();
    if (spec != null) {
      for (ServicePort p : Objects.requireNonNullElse(spec.getPorts(), List.<ServicePort>of())) {
        if (p.getPort() != null && ("TCP".equals(p.getProtocol()) || p.getProtocol() == null)) {
          ports.add(new Port(p.getPort(), targetPort(p.getPort(), p.getTargetPort())));
        }
      }
      List<String> ips = spec.getClusterIPs() != null && !spec.getClusterIPs().isEmpty() ? spec.getClusterIPs()
          : spec.getClusterIP() == null ? List.of() : List.of(spec.getClusterIP());
      ips.stream().filter(ip -> !ip.isEmpty() && !ip.equals("None")).forEach(vips::add);
      selector = spec.getSelector() == null ? Map.of() : new TreeMap<>(spec.getSelector());
    }
    return new ServiceFacts(Objects.requireNonNullElse(meta.getNamespace(), "default"), meta.getName(), selector,
        List.copyOf(ports), List.copyOf(vips));
  }

  /** {@code targetPort}: absent is the port itself, a number is that number, a name is 0 (resolved per pod). */
  static int targetPort(int port, @Nullable IntOrString target) {
    if (target == null) {
      return port;
    }
    if (target.getIntVal() != null) {
      return target.getIntVal();
    }
    String s = Objects.requireNonNullElse(target.getStrVal(), "");
    return s.chars().allMatch(Character::isDigit) && !s.isEmpty() ? Integer.parseInt(s) : 0;
  }

  /**
   * A pod's {@code services} map: {@code "<ns>/<hostname>"} to service port → target port, for every service that
   * selects it; a port with a named target is omitted (the lab's pods declare no container ports).
   */
  static Map<String, Map<Integer, Integer>> servicesOf(String podNamespace, Map<String, String> podLabels,
      Collection<ServiceFacts> services) {
    Map<String, Map<Integer, Integer>> out = new TreeMap<>();
    for (ServiceFacts s : services) {
      if (!s.selects(podNamespace, podLabels)) {
        continue;
      }
      Map<Integer, Integer> ports = new TreeMap<>();
      s.ports().stream().filter(p -> p.targetPort() != 0).forEach(p -> ports.put(p.port(), p.targetPort()));
      if (!ports.isEmpty()) {
        out.put(s.key(), ports);
      }
    }
    return out;
  }

  /**
   * Problems that make a Service unusable in the lab, in plain words (empty when it is fine): a name that is not a
   * DNS label, no ports, a port or number target port out of range, a given cluster IP outside 198.18.0.0/15.
   */
  static List<String> problems(Service svc) {
    List<String> out = new ArrayList<>();
    String name = svc.getMetadata() == null ? null : svc.getMetadata().getName();
    String what = "Service " + (name == null ? "(no name)" : name);
    if (name == null || !Pods.isDnsLabel(name)) {
      out.add(what + ": metadata.name must be a DNS label");
    }
    var spec = svc.getSpec();
    if (spec == null || spec.getPorts() == null || spec.getPorts().isEmpty()) {
      out.add(what + ": spec.ports is empty");
      return out;
    }
    if ("ExternalName".equals(spec.getType())) {
      out.add(what + ": type ExternalName is not published to ztunnel (spec §4.4)");
    }
    for (ServicePort p : spec.getPorts()) {
      if (p.getPort() == null || p.getPort() < 1 || p.getPort() > 65535) {
        out.add(what + ": port " + p.getPort() + " is not a port (1 to 65535)");
      } else if (p.getTargetPort() != null && p.getTargetPort().getIntVal() != null
          && (p.getTargetPort().getIntVal() < 1 || p.getTargetPort().getIntVal() > 65535)) {
        out.add(what + ": targetPort " + p.getTargetPort().getIntVal() + " is not a port (1 to 65535)");
      }
    }
    String ip = spec.getClusterIP();
    if (ip != null && !ip.isEmpty() && !ip.equals("None") && !inTestRange(ip)) {
      out.add(what + ": clusterIP " + ip + " is not an IPv4 address in 198.18.0.0/15 (the lab's only range)");
    }
    return out;
  }

  /** Whether {@code ip} is an IPv4 literal in 198.18.0.0/15. */
  static boolean inTestRange(String ip) {
    try {
      byte[] a = InetAddress.ofLiteral(ip).getAddress();
      return a.length == 4 && (a[0] & 0xff) == 198 && ((a[1] & 0xff) == 18 || (a[1] & 0xff) == 19);
    } catch (IllegalArgumentException e) {
      return false;
    }
  }

  /** The first free VIP {@code 198.19.S.2..254} not in {@code used}. */
  static String allocateVip(int subnet, Set<String> used) {
    for (int host = 2; host <= 254; host++) {
      String ip = VIP_PREFIX + subnet + "." + host;
      if (!used.contains(ip)) {
        return ip;
      }
    }
    throw new IllegalStateException("no free service VIP left in " + VIP_PREFIX + subnet + ".0/24");
  }
}
