package dev.ambient.ztunnel.state;

import dev.ambient.identity.SpiffeId;
import dev.ambient.xds.client.AddressResource;
import dev.ambient.xds.client.ApplicationTunnel;
import dev.ambient.xds.client.GatewayAddress;
import dev.ambient.xds.client.LoadBalancing;
import dev.ambient.xds.client.Locality;
import dev.ambient.xds.client.NamespacedHostname;
import dev.ambient.xds.client.NetworkAddress;
import dev.ambient.xds.client.Port;
import dev.ambient.xds.client.Service;
import dev.ambient.xds.client.WeightedWaypoint;
import dev.ambient.xds.client.Workload;
import dev.ambient.xds.client.XdsUpdate;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/** Test builders for workloads, services and pushes. Addresses: 198.18.0.0/15 and 2001:db8::/32 only. */
public final class Fixtures {
  private Fixtures() {}

  public static InetAddress ip(String s) {
    try {
      return InetAddress.getByName(s);
    } catch (UnknownHostException e) {
      throw new IllegalArgumentException(s, e);
    }
  }

  public static XdsUpdate push(AddressResource... resources) {
    Map<String, AddressResource> m = new LinkedHashMap<>();
    for (AddressResource r : resources) {
      m.put(r.key(), r);
    }
    return new XdsUpdate(m, Set.of(), Map.of(), Set.of());
  }

  public static XdsUpdate remove(String... names) {
    return new XdsUpdate(Map.of(), Set.of(names), Map.of(), Set.of());
  }

  public static GatewayAddress gwHost(String namespace, String hostname, int port) {
    return new GatewayAddress(new NamespacedHostname(namespace, hostname), port);
  }

  public static GatewayAddress gwAddr(String network, String address, int port) {
    return new GatewayAddress(NetworkAddress.host(network, ip(address)), port);
  }

  public static WB workload(String name) {
    return new WB(name);
  }

  public static SB service(String name) {
    return new SB(name);
  }

  /** Workload builder; defaults: namespace {@code default}, pod uid, HBONE, healthy, network "". */
  public static final class WB {
    String uid;
    String name;
    String namespace = "default";
    List<InetAddress> addresses = new ArrayList<>();
    String hostname = "";
    String network = "";
    Workload.TunnelProtocol protocol = Workload.TunnelProtocol.HBONE;
    String serviceAccount = "default";
    Optional<GatewayAddress> waypoint = Optional.empty();
    Optional<GatewayAddress> networkGateway = Optional.empty();
    String node = "node-a";
    Optional<ApplicationTunnel> appTunnel = Optional.empty();
    Map<String, List<Port>> services = new LinkedHashMap<>();
    Workload.Status status = Workload.Status.HEALTHY;
    String cluster = Workload.DEFAULT_CLUSTER_ID;
    Optional<Locality> locality = Optional.empty();
    Workload.NetworkMode mode = Workload.NetworkMode.STANDARD;
    int capacity = 1;

    WB(String name) {
      this.name = name;
      this.uid = "Kubernetes//Pod/default/" + name;
    }

    public WB uid(String v) { uid = v; return this; }
    public WB namespace(String v) { namespace = v; uid = "Kubernetes//Pod/" + v + "/" + name; return this; }
    public WB ip(String... v) { for (String s : v) { addresses.add(Fixtures.ip(s)); } return this; }
    public WB hostname(String v) { hostname = v; return this; }
    public WB network(String v) { network = v; return this; }
    public WB tcp() { protocol = Workload.TunnelProtocol.NONE; return this; }
    public WB sa(String v) { serviceAccount = v; return this; }
    public WB waypoint(GatewayAddress v) { waypoint = Optional.of(v); return this; }
    public WB gateway(GatewayAddress v) { networkGateway = Optional.of(v); return this; }
    public WB node(String v) { node = v; return this; }
    public WB appTunnel(int port) { appTunnel = Optional.of(new ApplicationTunnel(ApplicationTunnel.Protocol.PROXY, port)); return this; }
    public WB in(String serviceKey, Port... ports) { services.put(serviceKey, List.of(ports)); return this; }
    public WB unhealthy() { status = Workload.Status.UNHEALTHY; return this; }
    public WB cluster(String v) { cluster = v; return this; }
    public WB locality(String region, String zone, String subzone) { locality = Optional.of(new Locality(region, zone, subzone)); return this; }
    public WB hostNetwork() { mode = Workload.NetworkMode.HOST_NETWORK; return this; }
    public WB capacity(int v) { capacity = v; return this; }

    public Workload build() {
      return new Workload(uid, name, namespace, addresses, hostname, network, protocol, Workload.DEFAULT_TRUST_DOMAIN,
          serviceAccount, waypoint, networkGateway, node, name, "v1", Workload.WorkloadType.DEPLOYMENT, name, false,
          appTunnel, services, List.of(), status, cluster, locality, mode, capacity);
    }
  }

  /** Service builder; defaults: namespace {@code default}, hostname {@code <name>.<ns>.svc.cluster.local}. */
  public static final class SB {
    String name;
    String namespace = "default";
    String hostname;
    List<NetworkAddress> addresses = new ArrayList<>();
    List<Port> ports = new ArrayList<>();
    List<SpiffeId> sans = new ArrayList<>();
    Optional<GatewayAddress> waypoint = Optional.empty();
    Optional<LoadBalancing> lb = Optional.empty();
    Service.IpFamilies families = Service.IpFamilies.AUTOMATIC;
    boolean canonical;
    List<WeightedWaypoint> weighted = new ArrayList<>();
    Service.Visibility visibility = Service.Visibility.PUBLIC;

    SB(String name) {
      this.name = name;
      this.hostname = name + ".default.svc.cluster.local";
    }

    public SB namespace(String v) { namespace = v; hostname = name + "." + v + ".svc.cluster.local"; return this; }
    public SB hostname(String v) { hostname = v; return this; }
    public SB vip(String address) { return vip("", address); }
    public SB vip(String network, String address) { addresses.add(NetworkAddress.host(network, ip(address))); return this; }
    public SB cidr(String address, int prefix) { addresses.add(new NetworkAddress("", ip(address), prefix)); return this; }
    public SB port(int servicePort, int targetPort) { ports.add(new Port(servicePort, targetPort)); return this; }
    public SB san(String uri) { sans.add(SpiffeId.parse(uri)); return this; }
    public SB waypoint(GatewayAddress v) { waypoint = Optional.of(v); return this; }
    public SB weighted(GatewayAddress v, int weight) { weighted.add(new WeightedWaypoint(v, weight)); return this; }
    public SB lb(LoadBalancing.Mode mode, LoadBalancing.Scope... prefs) {
      lb = Optional.of(new LoadBalancing(List.of(prefs), mode, LoadBalancing.HealthPolicy.ONLY_HEALTHY));
      return this;
    }
    public SB allowAll() {
      LoadBalancing.Mode m = lb.map(LoadBalancing::mode).orElse(LoadBalancing.Mode.STANDARD);
      List<LoadBalancing.Scope> p = lb.map(LoadBalancing::routingPreference).orElse(List.of());
      lb = Optional.of(new LoadBalancing(p, m, LoadBalancing.HealthPolicy.ALLOW_ALL));
      return this;
    }
    public SB families(Service.IpFamilies v) { families = v; return this; }
    public SB canonical() { canonical = true; return this; }
    public SB namespaceVisible() { visibility = Service.Visibility.NAMESPACE; return this; }

    public String key() { return namespace + "/" + hostname; }

    public Service build() {
      return new Service(name, namespace, hostname, addresses, ports, sans, waypoint, lb, families, canonical,
          weighted, visibility);
    }
  }
}
