package dev.ambient.ztunnel.admin;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.ambient.xds.client.Authorization;
import dev.ambient.xds.client.GatewayAddress;
import dev.ambient.xds.client.LoadBalancing;
import dev.ambient.xds.client.NamespacedHostname;
import dev.ambient.xds.client.NetworkAddress;
import dev.ambient.xds.client.Port;
import dev.ambient.xds.client.Service;
import dev.ambient.xds.client.Workload;
import dev.ambient.ztunnel.state.Endpoint;
import dev.ambient.ztunnel.state.ServiceEntry;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * Workloads, services, endpoints and policies as ztunnel's {@code /config_dump} renders them (serde,
 * camelCase field names; enums as ztunnel spells them). Maps are sorted so the dump is stable.
 */
final class ResourceJson {
  private static final JsonNodeFactory F = JsonNodeFactory.instance;

  private ResourceJson() {}

  static ObjectNode workload(Workload w) {
    ObjectNode o = F.objectNode();
    o.put("uid", w.uid());
    ArrayNode ips = o.putArray("workloadIps");
    w.addresses().forEach(a -> ips.add(a.getHostAddress()));
    o.set("waypoint", gateway(w.waypoint()));
    o.set("networkGateway", gateway(w.networkGateway()));
    o.put("protocol", w.tunnelProtocol() == Workload.TunnelProtocol.HBONE ? "HBONE" : "TCP");
    o.put("networkMode", w.networkMode() == Workload.NetworkMode.HOST_NETWORK ? "HostNetwork" : "Standard");
    o.put("name", w.name());
    o.put("namespace", w.namespace());
    o.put("trustDomain", w.trustDomain());
    o.put("serviceAccount", w.serviceAccount());
    o.put("network", w.network());
    o.put("workloadName", w.workloadName());
    o.put("workloadType", w.workloadType().name().toLowerCase(Locale.ROOT));
    o.put("canonicalName", w.canonicalName());
    o.put("canonicalRevision", w.canonicalRevision());
    o.put("hostname", w.hostname());
    o.put("node", w.node());
    o.put("nativeTunnel", w.nativeTunnel());
    if (w.applicationTunnel().isPresent()) {
      ObjectNode t = o.putObject("applicationTunnel");
      t.put("protocol", w.applicationTunnel().get().protocol().name());
      t.put("port", w.applicationTunnel().get().port());
    } else {
      o.putNull("applicationTunnel");
    }
    ArrayNode policies = o.putArray("authorizationPolicies");
    w.authorizationPolicies().forEach(policies::add);
    o.put("status", w.status() == Workload.Status.HEALTHY ? "Healthy" : "Unhealthy");
    o.put("clusterId", w.clusterId());
    ObjectNode locality = o.putObject("locality");
    locality.put("region", w.locality().map(l -> l.region()).orElse(""));
    locality.put("zone", w.locality().map(l -> l.zone()).orElse(""));
    locality.put("subzone", w.locality().map(l -> l.subzone()).orElse(""));
    ObjectNode services = o.putObject("services");
    new TreeMap<>(w.services()).forEach((key, ports) -> services.set(key, ports(ports)));
    o.put("capacity", w.capacity());
    return o;
  }

  static ObjectNode service(ServiceEntry entry) {
    Service s = entry.service();
    ObjectNode o = F.objectNode();
    o.put("name", s.name());
    o.put("namespace", s.namespace());
    o.put("hostname", s.hostname());
    ArrayNode vips = o.putArray("vips");
    s.addresses().forEach(a -> vips.add(networkAddress(a)));
    o.set("ports", ports(s.ports()));
    o.set("endpoints", endpoints(entry.endpoints()));
    ArrayNode sans = o.putArray("subjectAltNames");
    s.subjectAltNames().forEach(id -> sans.add(id.toString()));
    o.set("waypoint", gateway(s.waypoint()));
    if (s.loadBalancing().isPresent()) {
      LoadBalancing lb = s.loadBalancing().get();
      ObjectNode l = o.putObject("loadBalancer");
      ArrayNode prefs = l.putArray("routingPreferences");
      lb.routingPreference().forEach(p -> prefs.add(pascal(p.name())));
      l.put("mode", pascal(lb.mode().name()));
      l.put("healthPolicy", pascal(lb.healthPolicy().name()));
    } else {
      o.putNull("loadBalancer");
    }
    switch (s.ipFamilies()) {
      case AUTOMATIC -> o.putNull("ipFamilies");
      case IPV4_ONLY -> o.put("ipFamilies", "IPv4");
      case IPV6_ONLY -> o.put("ipFamilies", "IPv6");
      case DUAL -> o.put("ipFamilies", "Dual");
    }
    return o;
  }

  /** Endpoints by workload uid: {@code {workloadUid, port: {servicePort: targetPort}, status}}. */
  static ObjectNode endpoints(Map<String, Endpoint> endpoints) {
    ObjectNode o = F.objectNode();
    new TreeMap<>(endpoints).forEach((uid, e) -> {
      ObjectNode ep = o.putObject(uid);
      ep.put("workloadUid", e.workloadUid());
      ObjectNode port = ep.putObject("port");
      new TreeMap<>(e.targetPorts()).forEach((sp, tp) -> port.put(String.valueOf(sp), tp));
      ep.put("status", e.status() == Workload.Status.HEALTHY ? "Healthy" : "Unhealthy");
    });
    return o;
  }

  static ObjectNode policy(Authorization p) {
    ObjectNode o = F.objectNode();
    o.put("name", p.name());
    o.put("namespace", p.namespace());
    o.put("scope", switch (p.scope()) {
      case GLOBAL -> "Global";
      case NAMESPACE -> "Namespace";
      case WORKLOAD_SELECTOR -> "WorkloadSelector";
    });
    o.put("action", p.action() == Authorization.Action.ALLOW ? "Allow" : "Deny");
    ArrayNode rules = o.putArray("rules");
    for (Authorization.Rule rule : p.rules()) {
      ArrayNode clauses = rules.addArray();
      for (Authorization.Clause clause : rule.clauses()) {
        ArrayNode matches = clauses.addArray();
        clause.matches().forEach(m -> matches.add(match(m)));
      }
    }
    o.put("dryRun", p.dryRun());
    return o;
  }

  private static ObjectNode match(Authorization.Match m) {
    ObjectNode o = F.objectNode();
    strings(o.putArray("namespaces"), m.namespaces());
    strings(o.putArray("notNamespaces"), m.notNamespaces());
    strings(o.putArray("principals"), m.principals());
    strings(o.putArray("notPrincipals"), m.notPrincipals());
    nets(o.putArray("sourceIps"), m.sourceIps());
    nets(o.putArray("notSourceIps"), m.notSourceIps());
    nets(o.putArray("destinationIps"), m.destinationIps());
    nets(o.putArray("notDestinationIps"), m.notDestinationIps());
    ArrayNode ports = o.putArray("destinationPorts");
    m.destinationPorts().forEach(ports::add);
    ArrayNode notPorts = o.putArray("notDestinationPorts");
    m.notDestinationPorts().forEach(notPorts::add);
    serviceAccounts(o.putArray("serviceAccounts"), m.serviceAccounts());
    serviceAccounts(o.putArray("notServiceAccounts"), m.notServiceAccounts());
    return o;
  }

  private static void strings(ArrayNode out, List<Authorization.StringMatch> matches) {
    for (Authorization.StringMatch s : matches) {
      switch (s) {
        case Authorization.StringMatch.Exact e -> out.addObject().put("Exact", e.value());
        case Authorization.StringMatch.Prefix p -> out.addObject().put("Prefix", p.value());
        case Authorization.StringMatch.Suffix x -> out.addObject().put("Suffix", x.value());
        case Authorization.StringMatch.Presence ignored -> out.add("Presence");
      }
    }
  }

  private static void nets(ArrayNode out, List<Authorization.IpNet> nets) {
    nets.forEach(n -> out.add(n.address().getHostAddress() + "/" + n.prefixLength()));
  }

  private static void serviceAccounts(ArrayNode out, List<Authorization.ServiceAccountMatch> sas) {
    sas.forEach(sa -> out.addObject().put("namespace", sa.namespace()).put("serviceAccount", sa.serviceAccount()));
  }

  /** {@code {destination: {Hostname: {namespace, hostname}} | {Address: "network/ip"}, hboneMtlsPort}} or null. */
  private static com.fasterxml.jackson.databind.JsonNode gateway(Optional<GatewayAddress> gateway) {
    if (gateway.isEmpty()) {
      return F.nullNode();
    }
    ObjectNode o = F.objectNode();
    ObjectNode d = o.putObject("destination");
    switch (gateway.get().destination()) {
      case NamespacedHostname h -> d.putObject("Hostname").put("namespace", h.namespace()).put("hostname", h.hostname());
      case NetworkAddress a -> d.put("Address", networkAddress(a));
    }
    o.put("hboneMtlsPort", gateway.get().hboneMtlsPort());
    return o;
  }

  /** {@code network/ip}, or {@code network/ip/prefix} for a CIDR. */
  static String networkAddress(NetworkAddress a) {
    return a.isCidr() ? a.key() + "/" + a.prefixLength() : a.key();
  }

  /** {@code {"servicePort": targetPort}} sorted by service port. */
  private static ObjectNode ports(List<Port> ports) {
    ObjectNode o = F.objectNode();
    ports.stream().sorted(Comparator.comparingInt(Port::servicePort))
        .forEach(p -> o.put(String.valueOf(p.servicePort()), p.targetPort()));
    return o;
  }

  /** {@code ONLY_HEALTHY} → {@code OnlyHealthy}. */
  static String pascal(String constant) {
    StringBuilder b = new StringBuilder();
    for (String part : constant.toLowerCase(Locale.ROOT).split("_")) {
      if (!part.isEmpty()) {
        b.append(Character.toUpperCase(part.charAt(0))).append(part.substring(1));
      }
    }
    return b.toString();
  }
}
