package dev.ambient.xds.config;

import static java.util.Objects.requireNonNullElse;

import com.google.protobuf.UInt32Value;
import dev.ambient.xds.api.security.Authorization;
import dev.ambient.xds.api.security.Clause;
import dev.ambient.xds.api.security.Match;
import dev.ambient.xds.api.security.Rule;
import dev.ambient.xds.api.security.ServiceAccountMatch;
import dev.ambient.xds.api.workload.Address;
import dev.ambient.xds.api.workload.ApplicationTunnel;
import dev.ambient.xds.api.workload.GatewayAddress;
import dev.ambient.xds.api.workload.IPFamilies;
import dev.ambient.xds.api.workload.LoadBalancing;
import dev.ambient.xds.api.workload.Locality;
import dev.ambient.xds.api.workload.NetworkAddress;
import dev.ambient.xds.api.workload.NetworkMode;
import dev.ambient.xds.api.workload.Port;
import dev.ambient.xds.api.workload.PortList;
import dev.ambient.xds.api.workload.Service;
import dev.ambient.xds.api.workload.TunnelProtocol;
import dev.ambient.xds.api.workload.WeightedWaypoint;
import dev.ambient.xds.api.workload.Workload;
import dev.ambient.xds.api.workload.WorkloadStatus;
import dev.ambient.xds.api.workload.WorkloadType;
import dev.ambient.xds.config.LocalConfigSchema.Document;
import dev.ambient.xds.config.LocalConfigSchema.Gateway;
import dev.ambient.xds.config.LocalConfigSchema.MatchYaml;
import dev.ambient.xds.config.LocalConfigSchema.PolicyYaml;
import dev.ambient.xds.config.LocalConfigSchema.ServiceAccountYaml;
import dev.ambient.xds.config.LocalConfigSchema.ServiceYaml;
import dev.ambient.xds.config.LocalConfigSchema.WorkloadYaml;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.jspecify.annotations.Nullable;

/**
 * Parses ztunnel's local-config YAML ({@code LOCAL_XDS_PATH}, spec §3.1) into workload-API resources.
 *
 * <h2>Format</h2>
 * Three optional top-level lists, {@code workloads}, {@code services} and {@code policies}, with ztunnel's
 * camelCase field names; unknown fields are rejected. IPs must be literals (IPv4 or IPv6, never host names).
 * Workloads become {@code Address{workload}} named by {@code uid}, services {@code Address{service}} named
 * {@code namespace/hostname}, policies {@code Authorization} named {@code namespace/name} ({@code dryRun} is
 * required, as in ztunnel).
 *
 * <h2>Our additions</h2>
 * <ul>
 *   <li>A workload without {@code uid} is named {@code <clusterId>//Pod/<namespace>/<name>} (cluster
 *       {@code Kubernetes} when unset), the name istiod gives a pod; the uid is written into the resource.
 *   <li>A workload may carry {@code labels: {key: value}}. They are never sent to ztunnel; they let Istio
 *       policies with {@code selector.matchLabels} select the workload (see {@link LocalConfig#workloadLabels()}).
 *   <li>A service's {@code endpoints} is accepted and ignored: endpoints come from the workloads' {@code services}.
 * </ul>
 *
 * <h2>Errors</h2>
 * Every problem is a {@link ConfigException} carrying the line and column of the offending value.
 */
public final class LocalConfigParser {
  private LocalConfigParser() {}

  /** Parses a (possibly multi-document) local-config YAML text. */
  public static LocalConfig parse(String yaml) {
    Map<String, Address> addresses = new LinkedHashMap<>();
    Map<String, Authorization> policies = new LinkedHashMap<>();
    Map<String, Map<String, String>> labels = new LinkedHashMap<>();
    for (Yaml.Document doc : Yaml.split(yaml)) {
      if (doc.tree() == null) {
        continue;
      }
      LocalConfig one = parse(doc);
      for (var e : one.addresses().entrySet()) {
        if (addresses.putIfAbsent(e.getKey(), e.getValue()) != null) {
          throw new ConfigException(doc.firstLine(), 0, "duplicate address '" + e.getKey() + "'");
        }
      }
      for (var e : one.policies().entrySet()) {
        if (policies.putIfAbsent(e.getKey(), e.getValue()) != null) {
          throw new ConfigException(doc.firstLine(), 0, "duplicate policy '" + e.getKey() + "'");
        }
      }
      labels.putAll(one.workloadLabels());
    }
    return new LocalConfig(addresses, policies, labels);
  }

  /** Parses one document already known to be local config. */
  static LocalConfig parse(Yaml.Document doc) {
    Document d = doc.bind(Document.class);
    Map<String, Address> addresses = new LinkedHashMap<>();
    Map<String, Authorization> policies = new LinkedHashMap<>();
    Map<String, Map<String, String>> labels = new LinkedHashMap<>();
    int line = doc.firstLine();
    for (WorkloadYaml w : orEmpty(d.workloads())) {
      Workload workload = workload(w, line);
      put(addresses, workload.getUid(), Address.newBuilder().setWorkload(workload).build(), "workload", line);
      if (w.labels() != null && !w.labels().isEmpty()) {
        labels.put(workload.getUid(), Map.copyOf(w.labels()));
      }
    }
    for (ServiceYaml s : orEmpty(d.services())) {
      Service service = service(s, line);
      put(addresses, service.getNamespace() + "/" + service.getHostname(),
          Address.newBuilder().setService(service).build(), "service", line);
    }
    for (PolicyYaml p : orEmpty(d.policies())) {
      Authorization a = policy(p, line);
      put(policies, a.getNamespace() + "/" + a.getName(), a, "policy", line);
    }
    return new LocalConfig(addresses, policies, labels);
  }

  private static <T> void put(Map<String, T> map, String key, T value, String what, int line) {
    if (map.putIfAbsent(key, value) != null) {
      throw new ConfigException(line, 0, "duplicate " + what + " '" + key + "'");
    }
  }

  static Workload workload(WorkloadYaml w, int line) {
    String name = str(w.name());
    String namespace = str(w.namespace());
    String uid = str(w.uid());
    if (uid.isEmpty()) {
      if (name.isEmpty() || namespace.isEmpty()) {
        throw new ConfigException(line, 0, "a workload needs a uid, or a name and a namespace to derive one from");
      }
      uid = (str(w.clusterId()).isEmpty() ? "Kubernetes" : w.clusterId()) + "//Pod/" + namespace + "/" + name;
    }
    Workload.Builder b = Workload.newBuilder()
        .setUid(uid).setName(name).setNamespace(namespace)
        .setServiceAccount(str(w.serviceAccount())).setTrustDomain(str(w.trustDomain()))
        .setNetwork(str(w.network())).setNode(str(w.node())).setHostname(str(w.hostname()))
        .setWorkloadName(str(w.workloadName())).setCanonicalName(str(w.canonicalName()))
        .setCanonicalRevision(str(w.canonicalRevision())).setClusterId(str(w.clusterId()))
        .setNativeTunnel(Boolean.TRUE.equals(w.nativeTunnel()))
        .addAllAuthorizationPolicies(orEmpty(w.authorizationPolicies()));
    orEmpty(w.workloadIps()).forEach(ip -> b.addAddresses(ip.bytes()));
    if (w.protocol() == LocalConfigSchema.Protocol.HBONE) {
      b.setTunnelProtocol(TunnelProtocol.HBONE);
    }
    if (w.networkMode() == LocalConfigSchema.NetworkMode.HOST_NETWORK) {
      b.setNetworkMode(NetworkMode.HOST_NETWORK);
    }
    if (w.waypoint() != null) {
      b.setWaypoint(gateway(w.waypoint(), line));
    }
    if (w.networkGateway() != null) {
      b.setNetworkGateway(gateway(w.networkGateway(), line));
    }
    if (w.applicationTunnel() != null) {
      var t = w.applicationTunnel();
      b.setApplicationTunnel(ApplicationTunnel.newBuilder()
          .setProtocol(t.protocol() == LocalConfigSchema.TunnelProtocol.PROXY
              ? ApplicationTunnel.Protocol.PROXY : ApplicationTunnel.Protocol.NONE)
          .setPort(port(t.port(), "applicationTunnel.port", line, true)));
    }
    if (w.workloadType() != null) {
      b.setWorkloadType(switch (w.workloadType()) {
        case DEPLOYMENT -> WorkloadType.DEPLOYMENT;
        case CRONJOB -> WorkloadType.CRONJOB;
        case POD -> WorkloadType.POD;
        case JOB -> WorkloadType.JOB;
      });
    }
    if (w.status() == LocalConfigSchema.Status.UNHEALTHY) {
      b.setStatus(WorkloadStatus.UNHEALTHY);
    }
    if (w.locality() != null) {
      b.setLocality(Locality.newBuilder().setRegion(str(w.locality().region()))
          .setZone(str(w.locality().zone())).setSubzone(str(w.locality().subzone())));
    }
    if (w.capacity() != null) {
      if (w.capacity() < 0) {
        throw new ConfigException(line, 0, "workload " + uid + ": capacity must not be negative");
      }
      b.setCapacity(UInt32Value.of(w.capacity()));
    }
    for (var e : orEmpty(w.services()).entrySet()) {
      if (!e.getKey().contains("/")) {
        throw new ConfigException(line, 0, "workload " + uid + ": service key '" + e.getKey()
            + "' must be <namespace>/<hostname>");
      }
      b.putServices(e.getKey(), PortList.newBuilder().addAllPorts(ports(e.getValue(), line)).build());
    }
    return b.build();
  }

  static Service service(ServiceYaml s, int line) {
    String namespace = str(s.namespace());
    String hostname = str(s.hostname());
    if (namespace.isEmpty() || hostname.isEmpty()) {
      throw new ConfigException(line, 0, "a service needs a namespace and a hostname");
    }
    Service.Builder b = Service.newBuilder().setName(str(s.name())).setNamespace(namespace).setHostname(hostname)
        .addAllSubjectAltNames(orEmpty(s.subjectAltNames()))
        .setCanonical(Boolean.TRUE.equals(s.canonical()))
        .addAllPorts(ports(orEmpty(s.ports()), line));
    orEmpty(s.vips()).forEach(v -> b.addAddresses(v.address()));
    for (var c : orEmpty(s.cidrVips())) {
      b.addAddresses(NetworkAddress.newBuilder().setNetwork(str(c.network()))
          .setAddress(com.google.protobuf.ByteString.copyFrom(c.cidr().cidr().address()))
          .setLength(c.cidr().cidr().length()));
    }
    if (s.waypoint() != null) {
      b.setWaypoint(gateway(s.waypoint(), line));
    }
    for (var w : orEmpty(s.weightedWaypoints())) {
      int weight = w.weight() == null ? 0 : w.weight();
      if (weight < 0) {
        throw new ConfigException(line, 0, "service " + hostname + ": weight must not be negative");
      }
      b.addWeightedWaypoints(WeightedWaypoint.newBuilder().setDestination(w.destination().partial().clone())
          .setWeight(weight));
    }
    if (s.loadBalancer() != null) {
      var lb = s.loadBalancer();
      LoadBalancing.Builder l = LoadBalancing.newBuilder();
      for (var p : orEmpty(lb.routingPreferences())) {
        l.addRoutingPreference(switch (p) {
          case REGION -> LoadBalancing.Scope.REGION;
          case ZONE -> LoadBalancing.Scope.ZONE;
          case SUBZONE -> LoadBalancing.Scope.SUBZONE;
          case NODE -> LoadBalancing.Scope.NODE;
          case CLUSTER -> LoadBalancing.Scope.CLUSTER;
          case NETWORK -> LoadBalancing.Scope.NETWORK;
        });
      }
      if (lb.mode() != null) {
        l.setMode(switch (lb.mode()) {
          case STANDARD -> LoadBalancing.Mode.UNSPECIFIED_MODE;
          case STRICT -> LoadBalancing.Mode.STRICT;
          case FAILOVER -> LoadBalancing.Mode.FAILOVER;
          case PASSTHROUGH -> LoadBalancing.Mode.PASSTHROUGH;
        });
      }
      if (lb.healthPolicy() == LocalConfigSchema.HealthPolicy.ALLOW_ALL) {
        l.setHealthPolicy(LoadBalancing.HealthPolicy.ALLOW_ALL);
      }
      b.setLoadBalancing(l);
    }
    if (s.ipFamilies() != null) {
      b.setIpFamilies(switch (s.ipFamilies()) {
        case AUTOMATIC -> IPFamilies.AUTOMATIC;
        case IPV4 -> IPFamilies.IPV4_ONLY;
        case IPV6 -> IPFamilies.IPV6_ONLY;
        case DUAL -> IPFamilies.DUAL;
      });
    }
    if (s.visibility() == LocalConfigSchema.Visibility.NAMESPACE) {
      b.setVisibility(Service.Visibility.NAMESPACE);
    }
    return b.build();
  }

  static Authorization policy(PolicyYaml p, int line) {
    String name = str(p.name());
    String namespace = str(p.namespace());
    if (name.isEmpty()) {
      throw new ConfigException(line, 0, "a policy needs a name");
    }
    if (p.dryRun() == null) {
      throw new ConfigException(line, 0, "policy " + namespace + "/" + name + ": dryRun is required (true or false)");
    }
    Authorization.Builder b = Authorization.newBuilder().setName(name).setNamespace(namespace)
        .setDryRun(p.dryRun());
    if (p.scope() != null) {
      b.setScope(switch (p.scope()) {
        case GLOBAL -> dev.ambient.xds.api.security.Scope.GLOBAL;
        case NAMESPACE -> dev.ambient.xds.api.security.Scope.NAMESPACE;
        case WORKLOAD_SELECTOR -> dev.ambient.xds.api.security.Scope.WORKLOAD_SELECTOR;
      });
    }
    if (p.action() == LocalConfigSchema.Action.DENY) {
      b.setAction(dev.ambient.xds.api.security.Action.DENY);
    }
    for (List<List<MatchYaml>> rule : orEmpty(p.rules())) {
      Rule.Builder r = Rule.newBuilder();
      for (List<MatchYaml> clause : orEmpty(rule)) {
        Clause.Builder c = Clause.newBuilder();
        for (MatchYaml m : orEmpty(clause)) {
          c.addMatches(match(m, line));
        }
        r.addClauses(c);
      }
      b.addRules(r);
    }
    return b.build();
  }

  private static Match match(MatchYaml m, int line) {
    Match.Builder b = Match.newBuilder();
    orEmpty(m.namespaces()).forEach(x -> b.addNamespaces(x.match()));
    orEmpty(m.notNamespaces()).forEach(x -> b.addNotNamespaces(x.match()));
    orEmpty(m.principals()).forEach(x -> b.addPrincipals(x.match()));
    orEmpty(m.notPrincipals()).forEach(x -> b.addNotPrincipals(x.match()));
    orEmpty(m.serviceAccounts()).forEach(x -> b.addServiceAccounts(sa(x)));
    orEmpty(m.notServiceAccounts()).forEach(x -> b.addNotServiceAccounts(sa(x)));
    orEmpty(m.sourceIps()).forEach(x -> b.addSourceIps(x.cidr().toProto()));
    orEmpty(m.notSourceIps()).forEach(x -> b.addNotSourceIps(x.cidr().toProto()));
    orEmpty(m.destinationIps()).forEach(x -> b.addDestinationIps(x.cidr().toProto()));
    orEmpty(m.notDestinationIps()).forEach(x -> b.addNotDestinationIps(x.cidr().toProto()));
    for (Integer p : orEmpty(m.destinationPorts())) {
      b.addDestinationPorts(port(p, "destinationPorts", line, false));
    }
    for (Integer p : orEmpty(m.notDestinationPorts())) {
      b.addNotDestinationPorts(port(p, "notDestinationPorts", line, false));
    }
    return b.build();
  }

  private static ServiceAccountMatch sa(ServiceAccountYaml s) {
    return ServiceAccountMatch.newBuilder().setNamespace(s.namespace()).setServiceAccount(s.serviceAccount()).build();
  }

  private static GatewayAddress gateway(Gateway g, int line) {
    return g.destination().partial().clone()
        .setHboneMtlsPort(port(g.hboneMtlsPort(), "hboneMtlsPort", line, true)).build();
  }

  private static List<Port> ports(Map<Integer, Integer> map, int line) {
    return new TreeMap<>(map).entrySet().stream().map(e -> Port.newBuilder()
        .setServicePort(port(e.getKey(), "service port", line, false))
        .setTargetPort(port(e.getValue(), "target port", line, true)).build()).toList();
  }

  private static int port(@Nullable Integer p, String what, int line, boolean zeroAllowed) {
    if (p == null) {
      if (zeroAllowed) {
        return 0;
      }
      throw new ConfigException(line, 0, what + " must not be null");
    }
    if (p < (zeroAllowed ? 0 : 1) || p > 65535) {
      throw new ConfigException(line, 0, what + " " + p + " is not a port (" + (zeroAllowed ? 0 : 1) + " to 65535)");
    }
    return p;
  }

  private static String str(@Nullable String s) {
    return s == null ? "" : s;
  }

  private static <T> List<T> orEmpty(@Nullable List<T> list) {
    return requireNonNullElse(list, List.of());
  }

  private static <K, V> Map<K, V> orEmpty(@Nullable Map<K, V> map) {
    return requireNonNullElse(map, Map.of());
  }
}
