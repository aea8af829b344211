package dev.ambient.ztunnel.state;

import static java.util.Objects.requireNonNull;

import dev.ambient.xds.client.Service;
import dev.ambient.xds.client.Workload;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * An immutable snapshot of the workloads and services the proxy knows, with the indexes the data
 * path needs. Built only by {@link StateUpdater}; read through {@link StateHolder#current()}. Index
 * values are keys (uids, {@code namespace/hostname}) resolved through the primary maps, so an
 * endpoint change re-creates one {@link ServiceEntry} and nothing else.
 *
 * <p>Spec §2.5: workloads are indexed by uid and by {@code (network, IP)} (HOST_NETWORK workloads are
 * not indexed by IP); services by {@code namespace/hostname}, by hostname, by {@code (network, VIP)}
 * and as CIDR VIPs. Endpoints of services not known yet are staged.
 */
public final class ProxyState {
  /** The empty state, before the first push. */
  public static final ProxyState EMPTY =
      new ProxyState(Map.of(), Map.of(), Map.of(), Map.of(), Map.of(), List.of(), Map.of());

  private final Map<String, Workload> workloadsByUid;
  private final Map<NetworkIp, List<String>> workloadsByAddress;
  private final Map<String, ServiceEntry> servicesByKey;
  private final Map<String, List<String>> servicesByHostname;
  private final Map<NetworkIp, List<String>> servicesByVip;
  private final List<CidrVip> cidrVips;
  private final Map<String, Map<String, Endpoint>> staged;

  ProxyState(
      Map<String, Workload> workloadsByUid,
      Map<NetworkIp, List<String>> workloadsByAddress,
      Map<String, ServiceEntry> servicesByKey,
      Map<String, List<String>> servicesByHostname,
      Map<NetworkIp, List<String>> servicesByVip,
      List<CidrVip> cidrVips,
      Map<String, Map<String, Endpoint>> staged) {
    this.workloadsByUid = Map.copyOf(workloadsByUid);
    this.workloadsByAddress = Map.copyOf(workloadsByAddress);
    this.servicesByKey = Map.copyOf(servicesByKey);
    this.servicesByHostname = Map.copyOf(servicesByHostname);
    this.servicesByVip = Map.copyOf(servicesByVip);
    this.cidrVips = List.copyOf(cidrVips);
    this.staged = Map.copyOf(staged);
  }

  /** The workload with this uid. */
  public Optional<Workload> workload(String uid) {
    return Optional.ofNullable(workloadsByUid.get(uid));
  }

  /** Every workload (unordered view). */
  public java.util.Collection<Workload> workloads() {
    return workloadsByUid.values();
  }

  /** Every service (unordered view). */
  public java.util.Collection<ServiceEntry> services() {
    return servicesByKey.values();
  }

  /** Endpoints waiting for their service, by service key then workload uid. */
  public Map<String, Map<String, Endpoint>> stagedServices() {
    return staged;
  }

  /** Number of workloads. */
  public int workloadCount() {
    return workloadsByUid.size();
  }

  /** Number of services. */
  public int serviceCount() {
    return servicesByKey.size();
  }

  /** All workloads sharing {@code address}, in insertion order. */
  public List<Workload> workloadsByAddress(NetworkIp address) {
    List<String> uids = workloadsByAddress.getOrDefault(address, List.of());
    List<Workload> out = new ArrayList<>(uids.size());
    for (String uid : uids) {
      Workload w = workloadsByUid.get(uid);
      if (w != null) {
        out.add(w);
      }
    }
    return out;
  }

  /**
   * The workload at {@code address}. When several share it: (Pod AND HBONE) &gt; Pod &gt; HBONE &gt;
   * other, then the first inserted.
   */
  public Optional<Workload> workloadByAddress(NetworkIp address) {
    Workload best = null;
    int bestRank = -1;
    for (Workload w : workloadsByAddress(address)) {
      int rank = sharedAddressRank(w);
      if (rank > bestRank) {
        best = w;
        bestRank = rank;
      }
    }
    return Optional.ofNullable(best);
  }

  static int sharedAddressRank(Workload w) {
    boolean pod = w.uid().contains("//Pod/");
    boolean hbone = w.tunnelProtocol() == Workload.TunnelProtocol.HBONE;
    return pod && hbone ? 3 : pod ? 2 : hbone ? 1 : 0;
  }

  /** The service {@code namespace/hostname}. */
  public Optional<ServiceEntry> service(String namespace, String hostname) {
    return serviceByKey(namespace + "/" + hostname);
  }

  /** The service by its {@code namespace/hostname} key. */
  public Optional<ServiceEntry> serviceByKey(String key) {
    return Optional.ofNullable(servicesByKey.get(key));
  }

  /** Every service (one per namespace) with this hostname. */
  public List<ServiceEntry> servicesByHostname(String hostname) {
    return resolveServices(servicesByHostname.getOrDefault(hostname, List.of()));
  }

  /** Endpoints staged for a service that is not known (yet): by workload uid; empty if none. */
  public Map<String, Endpoint> stagedEndpoints(String serviceKey) {
    return staged.getOrDefault(serviceKey, Map.of());
  }

  /**
   * The service a client in {@code clientNamespace} reaches at {@code vip} (spec §5.1 step 1): an
   * exact VIP first (visible to the client; client's namespace &gt; canonical &gt; first inserted),
   * then CIDR VIPs (visible; client's namespace, then longer prefix, then canonical).
   */
  public Optional<ServiceEntry> findServiceByVip(NetworkIp vip, String clientNamespace) {
    ServiceEntry best = null;
    int bestRank = -1;
    for (ServiceEntry e : resolveServices(servicesByVip.getOrDefault(vip, List.of()))) {
      if (!visibleTo(e.service(), clientNamespace)) {
        continue;
      }
      int rank = (e.service().namespace().equals(clientNamespace) ? 2 : 0) + (e.service().canonical() ? 1 : 0);
      if (rank > bestRank) {
        best = e;
        bestRank = rank;
      }
    }
    if (best != null) {
      return Optional.of(best);
    }
    long bestCidr = -1;
    for (CidrVip c : cidrVips) {
      if (!c.contains(vip.network(), vip.address())) {
        continue;
      }
      ServiceEntry e = servicesByKey.get(c.serviceKey());
      if (e == null || !visibleTo(e.service(), clientNamespace)) {
        continue;
      }
      long rank = (e.service().namespace().equals(clientNamespace) ? 1000L : 0L)
          + c.range().prefixLength() * 2L
          + (e.service().canonical() ? 1 : 0);
      if (rank > bestCidr) {
        best = e;
        bestCidr = rank;
      }
    }
    return Optional.ofNullable(best);
  }

  /** Whether {@code ip} is an exact or CIDR VIP of any service on {@code network} (ignoring visibility). */
  public boolean isVip(NetworkIp vip) {
    return servicesByVip.containsKey(vip) || cidrVips.stream().anyMatch(c -> c.contains(vip.network(), vip.address()));
  }

  /** Workloads whose {@code hostname} field equals {@code hostname} in {@code namespace} (linear; rare). */
  public List<Workload> workloadsByHostname(String namespace, String hostname) {
    return workloadsByUid.values().stream()
        .filter(w -> w.hostname().equals(hostname) && w.namespace().equals(namespace))
        .sorted(Comparator.comparing(Workload::uid))
        .toList();
  }

  private static boolean visibleTo(Service s, String clientNamespace) {
    return s.visibility() == Service.Visibility.PUBLIC || s.namespace().equals(clientNamespace);
  }

  private List<ServiceEntry> resolveServices(List<String> keys) {
    List<ServiceEntry> out = new ArrayList<>(keys.size());
    for (String k : keys) {
      ServiceEntry e = servicesByKey.get(k);
      if (e != null) {
        out.add(e);
      }
    }
    return out;
  }

  /** Whether {@code address} is one of the IPs of {@code workload}. */
  static boolean hasAddress(Workload workload, InetAddress address) {
    return workload.addresses().contains(requireNonNull(address));
  }

  @Override
  public String toString() {
    return "ProxyState{workloads=" + workloadsByUid.size() + ", services=" + servicesByKey.size()
        + ", staged=" + staged.size() + "}";
  }
}
