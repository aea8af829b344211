package dev.ambient.ztunnel.state;

import static java.util.Objects.requireNonNull;

import dev.ambient.xds.client.AddressResource;
import dev.ambient.xds.client.NetworkAddress;
import dev.ambient.xds.client.Port;
import dev.ambient.xds.client.Service;
import dev.ambient.xds.client.Workload;
import dev.ambient.xds.client.XdsUpdate;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The single writer of {@link ProxyState} (STYLE practice 4). It owns mutable working indexes; {@link
 * #apply} changes them for one {@link XdsUpdate} batch, rebuilds each touched service's endpoint set
 * once (so a push of E endpoints into one service is O(E), not O(E²)), builds the new immutable
 * snapshot, and only then publishes it with one volatile write.
 *
 * <p>Not thread-safe: call it from the xDS executor only. Authorization changes in the batch are
 * ignored here (they have their own store).
 *
 * <p>Endpoints are remembered per service key regardless of health and of whether the service is
 * known; a {@link ServiceEntry} shows the health-filtered subset (spec §2.5), and a key without a
 * service is "staged". Removing a service therefore keeps its workloads' memberships staged, ready
 * for the service to come back.
 */
public final class StateUpdater {
  private final StateHolder holder;

  private final Map<String, Workload> workloads = new HashMap<>();
  private final Map<NetworkIp, List<String>> workloadsByAddress = new HashMap<>();
  private final Map<String, Service> services = new HashMap<>();
  private final Map<String, ServiceEntry> entries = new HashMap<>();
  private final Map<String, List<String>> servicesByHostname = new HashMap<>();
  private final Map<NetworkIp, List<String>> servicesByVip = new HashMap<>();
  private final List<CidrVip> cidrVips = new ArrayList<>();
  /** Every endpoint by service key then uid, unfiltered; keys without a service are the staged ones. */
  private final Map<String, Map<String, Endpoint>> endpoints = new HashMap<>();
  private final Map<String, Map<String, Endpoint>> staged = new HashMap<>();

  public StateUpdater(StateHolder holder) {
    this.holder = requireNonNull(holder, "holder");
  }

  /**
   * Applies one batch: upserts first, then removals (spec §2.5), and publishes the new snapshot.
   *
   * @return the published snapshot
   */
  public ProxyState apply(XdsUpdate update) {
    Set<String> touched = new HashSet<>();
    for (AddressResource r : update.addresses().values()) {
      switch (r) {
        case Workload w -> {
          removeWorkload(w.uid(), touched);
          insertWorkload(w, touched);
        }
        case Service s -> {
          removeService(s.key(), touched);
          insertService(s, touched);
        }
      }
    }
    for (String name : update.removedAddresses()) {
      removeByName(name, touched);
    }
    for (String key : touched) {
      rebuildService(key);
    }
    ProxyState state = new ProxyState(
        workloads, workloadsByAddress, entries, servicesByHostname, servicesByVip, cidrVips, staged);
    holder.publish(state);
    return state;
  }

  /** Spec §2.5 removal by name: a workload uid first, else {@code namespace/hostname} unless the hostname has a '/'. */
  private void removeByName(String name, Set<String> touched) {
    if (workloads.containsKey(name)) {
      removeWorkload(name, touched);
      return;
    }
    int slash = name.indexOf('/');
    if (slash < 0 || name.indexOf('/', slash + 1) >= 0) {
      return; // not a service name (or a uid we do not hold)
    }
    removeService(name, touched);
  }

  private void insertWorkload(Workload w, Set<String> touched) {
    workloads.put(w.uid(), w);
    if (w.networkMode() != Workload.NetworkMode.HOST_NETWORK) {
      for (InetAddress ip : w.addresses()) {
        append(workloadsByAddress, new NetworkIp(w.network(), ip), w.uid());
      }
    }
    for (Map.Entry<String, List<Port>> e : w.services().entrySet()) {
      endpoints.computeIfAbsent(e.getKey(), k -> new LinkedHashMap<>()).put(w.uid(), Endpoint.of(w, e.getValue()));
      touched.add(e.getKey());
    }
  }

  private void removeWorkload(String uid, Set<String> touched) {
    Workload old = workloads.remove(uid);
    if (old == null) {
      return;
    }
    if (old.networkMode() != Workload.NetworkMode.HOST_NETWORK) {
      for (InetAddress ip : old.addresses()) {
        remove(workloadsByAddress, new NetworkIp(old.network(), ip), uid);
      }
    }
    for (String key : old.services().keySet()) {
      Map<String, Endpoint> eps = endpoints.get(key);
      if (eps != null) {
        eps.remove(uid);
        if (eps.isEmpty()) {
          endpoints.remove(key);
        }
      }
      touched.add(key);
    }
  }

  private void insertService(Service s, Set<String> touched) {
    String key = s.key();
    services.put(key, s);
    append(servicesByHostname, s.hostname(), key);
    for (NetworkAddress a : s.addresses()) {
      if (a.isCidr()) {
        cidrVips.add(new CidrVip(a, key));
      } else {
        append(servicesByVip, new NetworkIp(a.network(), a.address()), key);
      }
    }
    touched.add(key);
  }

  private void removeService(String key, Set<String> touched) {
    Service old = services.remove(key);
    if (old == null) {
      return;
    }
    remove(servicesByHostname, old.hostname(), key);
    for (NetworkAddress a : old.addresses()) {
      if (!a.isCidr()) {
        remove(servicesByVip, new NetworkIp(a.network(), a.address()), key);
      }
    }
    cidrVips.removeIf(c -> c.serviceKey().equals(key));
    touched.add(key);
  }

  /** Once per touched service per batch: the health-filtered entry, or the staged endpoints. */
  private void rebuildService(String key) {
    Map<String, Endpoint> all = endpoints.getOrDefault(key, Map.of());
    Service s = services.get(key);
    if (s == null) {
      entries.remove(key);
      if (all.isEmpty()) {
        staged.remove(key);
      } else {
        staged.put(key, Map.copyOf(all));
      }
      return;
    }
    staged.remove(key);
    boolean allowAll = ServiceEntry.allowsUnhealthy(s);
    Map<String, Endpoint> visible = new HashMap<>();
    for (Endpoint ep : all.values()) {
      if (allowAll || ep.status() == Workload.Status.HEALTHY) {
        visible.put(ep.workloadUid(), ep);
      }
    }
    entries.put(key, new ServiceEntry(s, visible));
  }

  private static <K> void append(Map<K, List<String>> index, K key, String value) {
    List<String> old = index.getOrDefault(key, List.of());
    if (old.contains(value)) {
      return;
    }
    List<String> next = new ArrayList<>(old.size() + 1);
    next.addAll(old);
    next.add(value);
    index.put(key, List.copyOf(next));
  }

  private static <K> void remove(Map<K, List<String>> index, K key, String value) {
    List<String> old = index.get(key);
    if (old == null) {
      return;
    }
    List<String> next = new ArrayList<>(old);
    next.remove(value);
    if (next.isEmpty()) {
      index.remove(key);
    } else {
      index.put(key, List.copyOf(next));
    }
  }
}
