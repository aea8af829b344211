package dev.ambient.ztunnel.state;

import static java.util.Objects.requireNonNull;

import dev.ambient.identity.SpiffeId;
import dev.ambient.xds.client.GatewayAddress;
import dev.ambient.xds.client.NamespacedHostname;
import dev.ambient.xds.client.NetworkAddress;
import dev.ambient.xds.client.Service;
import dev.ambient.xds.client.WeightedWaypoint;
import dev.ambient.xds.client.Workload;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.random.RandomGenerator;

/** Waypoint and network-gateway resolution (spec §4.7, §4.8). */
public final class Gateways {
  private Gateways() {}

  /**
   * A resolved gateway: the workload to dial (on {@code hboneMtlsPort}) and the service it was
   * reached through, if any.
   */
  public record Resolved(Workload workload, Optional<ServiceEntry> service, int hboneMtlsPort) {
    public Resolved {
      requireNonNull(workload, "workload");
      requireNonNull(service, "service");
    }

    /** Identities to expect: the workload's, then the gateway service's SANs. */
    public List<SpiffeId> identities() {
      Set<SpiffeId> ids = new LinkedHashSet<>();
      ids.add(workload.identity());
      service.ifPresent(s -> ids.addAll(s.service().subjectAltNames()));
      return List.copyOf(ids);
    }
  }

  /**
   * The waypoint for one connection to {@code service}: weighted by {@code weighted_waypoints}
   * (weight/Σweights; weight 0 never), falling back to {@code waypoint} when that list is empty or
   * all-zero.
   */
  public static Optional<GatewayAddress> chooseWaypoint(Service service, RandomGenerator random) {
    long total = 0;
    for (WeightedWaypoint w : service.weightedWaypoints()) {
      total += Integer.toUnsignedLong(w.weight());
    }
    if (total == 0) {
      return service.waypoint();
    }
    long r = random.nextLong(total);
    for (WeightedWaypoint w : service.weightedWaypoints()) {
      r -= Integer.toUnsignedLong(w.weight());
      if (r < 0) {
        return Optional.of(w.destination());
      }
    }
    throw new AssertionError("weighted choice fell through");
  }

  /**
   * Resolves a gateway address: a hostname to the service {@code namespace/hostname} (load-balanced
   * in waypoint mode on the HBONE port) or else a workload with that hostname; an address to a service
   * VIP on the address's network (load-balanced) or else the workload owning it.
   */
  public static Optional<Resolved> resolve(
      ProxyState state, GatewayAddress gateway, Workload source, RandomGenerator random) {
    int port = gateway.hboneMtlsPort();
    return switch (gateway.destination()) {
      case NamespacedHostname h -> {
        Optional<ServiceEntry> svc = state.service(h.namespace(), h.hostname());
        if (svc.isPresent()) {
          yield LoadBalancer.pick(state, svc.get(), source, port, LoadBalancer.Resolution.WAYPOINT, random)
              .map(p -> new Resolved(p.workload(), svc, port));
        }
        yield state.workloadsByHostname(h.namespace(), h.hostname()).stream().findFirst()
            .map(w -> new Resolved(w, Optional.empty(), port));
      }
      case NetworkAddress a -> {
        NetworkIp key = new NetworkIp(a.network(), a.address());
        Optional<ServiceEntry> svc = state.findServiceByVip(key, source.namespace());
        if (svc.isPresent()) {
          yield LoadBalancer.pick(state, svc.get(), source, port, LoadBalancer.Resolution.WAYPOINT, random)
              .map(p -> new Resolved(p.workload(), svc, port));
        }
        yield state.workloadByAddress(key).map(w -> new Resolved(w, Optional.empty(), port));
      }
    };
  }

  /**
   * Whether the sender is the waypoint {@code gateway} names: its identity equals a waypoint
   * workload's identity AND {@code sourceIp} is among that workload's IPs (spec §4.8 loop rule).
   */
  public static boolean isFromWaypoint(
      ProxyState state, GatewayAddress gateway, Workload source, InetAddress sourceIp) {
    SpiffeId id = source.identity();
    for (Workload w : candidates(state, gateway, source)) {
      if (w.addresses().contains(sourceIp) && w.identity().equals(id)) {
        return true;
      }
    }
    return false;
  }

  private static List<Workload> candidates(ProxyState state, GatewayAddress gateway, Workload source) {
    List<Workload> out = new ArrayList<>();
    Optional<ServiceEntry> svc = switch (gateway.destination()) {
      case NamespacedHostname h -> state.service(h.namespace(), h.hostname());
      case NetworkAddress a -> state.findServiceByVip(new NetworkIp(a.network(), a.address()), source.namespace());
    };
    if (svc.isPresent()) {
      for (Endpoint ep : svc.get().endpoints().values()) {
        state.workload(ep.workloadUid()).ifPresent(out::add);
      }
      return out;
    }
    switch (gateway.destination()) {
      case NamespacedHostname h -> out.addAll(state.workloadsByHostname(h.namespace(), h.hostname()));
      case NetworkAddress a -> out.addAll(state.workloadsByAddress(new NetworkIp(a.network(), a.address())));
    }
    return out;
  }
}
