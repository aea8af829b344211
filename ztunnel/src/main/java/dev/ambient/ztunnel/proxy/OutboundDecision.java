package dev.ambient.ztunnel.proxy;

import dev.ambient.identity.SpiffeId;
import dev.ambient.xds.client.GatewayAddress;
import dev.ambient.xds.client.LoadBalancing;
import dev.ambient.xds.client.Service;
import dev.ambient.xds.client.Workload;
import dev.ambient.ztunnel.state.Destinations;
import dev.ambient.ztunnel.state.Gateways;
import dev.ambient.ztunnel.state.LoadBalancer;
import dev.ambient.ztunnel.state.NetworkIp;
import dev.ambient.ztunnel.state.ProxyState;
import dev.ambient.ztunnel.state.ServiceEntry;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;
import java.util.random.RandomGenerator;

/**
 * The outbound routing decision, ztunnel's {@code build_request} (spec §5.1): a pure function of the
 * connection facts and a state snapshot (STYLE practice 1). The random source drives load balancing
 * and weighted waypoints.
 */
public final class OutboundDecision {
  /** Ports of the proxy itself: a loopback destination on one of them is a self call. */
  public static final Set<Integer> ILLEGAL_PORTS = Set.of(15001, 15006, 15008);
  /** Where HBONE-capable workloads accept tunnels. */
  public static final int HBONE_PORT = 15008;

  private OutboundDecision() {}

  /**
   * Decides the route for a connection from {@code source} (at {@code clientIp}) to {@code
   * originalDst}, following §5.1 steps 1–7.
   */
  public static Route build(
      ProxyState state, Workload source, InetAddress clientIp, InetSocketAddress originalDst,
      RandomGenerator random) {
    InetAddress target = originalDst.getAddress();
    if (target == null) {
      throw new IllegalArgumentException("original destination must be resolved: " + originalDst);
    }
    int port = originalDst.getPort();
    if (target.isLoopbackAddress() && ILLEGAL_PORTS.contains(port)) {
      return new Route.Reject(Route.Reason.SELF_CALL, "loopback call to proxy port " + port);
    }
    NetworkIp key = new NetworkIp(source.network(), target);

    // Step 1: a workload owning the IP wins over a VIP.
    Optional<Workload> targetWorkload = state.workloadByAddress(key);
    Optional<ServiceEntry> service = targetWorkload.isPresent()
        ? Optional.empty()
        : state.findServiceByVip(key, source.namespace());

    Workload upstream;
    int targetPort;
    if (service.isPresent()) {
      ServiceEntry svc = service.get();
      // Step 2: service waypoint (also for PASSTHROUGH services).
      Optional<GatewayAddress> waypoint = Gateways.chooseWaypoint(svc.service(), random);
      if (waypoint.isPresent()) {
        return viaWaypoint(state, source, waypoint.get(), originalDst, Route.Hop.SERVICE_WAYPOINT,
            Optional.of(svc), random);
      }
      // Step 3/4 for a VIP.
      if (svc.mode() == LoadBalancing.Mode.PASSTHROUGH) {
        return new Route.Passthrough(originalDst);
      }
      Optional<LoadBalancer.Pick> pick =
          LoadBalancer.pick(state, svc, source, port, LoadBalancer.Resolution.STANDARD, random);
      if (pick.isEmpty()) {
        return new Route.Reject(Route.Reason.NO_HEALTHY_UPSTREAM, "no healthy endpoint of " + svc.key() + " for port " + port);
      }
      OptionalInt resolved = targetPort(svc, pick.get(), port);
      if (resolved.isEmpty()) {
        return new Route.Reject(Route.Reason.NO_HEALTHY_UPSTREAM, "no target port of " + svc.key() + " for port " + port);
      }
      upstream = pick.get().workload();
      targetPort = resolved.getAsInt();
    } else if (targetWorkload.isPresent()) {
      upstream = targetWorkload.get();
      targetPort = port;
    } else {
      return new Route.Passthrough(originalDst); // step 4
    }

    // Step 5: another network ⇒ double HBONE through its gateway (service-addressed only).
    if (!upstream.network().equals(source.network())) {
      if (service.isEmpty()) {
        return new Route.Reject(Route.Reason.NO_VALID_DESTINATION, "workload " + upstream.uid() + " is on another network");
      }
      Service svc = service.get().service();
      return doubleHbone(state, source, upstream, target, svc.hostname(), port, svc.subjectAltNames(), svc, random);
    }

    // Step 6: workload waypoint, for workload-addressed traffic not sent by that waypoint.
    if (service.isEmpty() && upstream.waypoint().isPresent()) {
      GatewayAddress waypoint = upstream.waypoint().get();
      if (!Gateways.isFromWaypoint(state, waypoint, source, clientIp)) {
        return viaWaypoint(state, source, waypoint, originalDst, Route.Hop.WORKLOAD_WAYPOINT, Optional.empty(), random);
      }
    }

    // Step 7: the workload itself.
    Optional<Service> svc = service.map(ServiceEntry::service);
    Optional<InetSocketAddress> dst = Destinations.choose(upstream, svc, target, targetPort);
    if (dst.isEmpty()) {
      return new Route.Reject(Route.Reason.NO_VALID_DESTINATION, "no usable address for workload " + upstream.uid());
    }
    InetSocketAddress authority = dst.get();
    return switch (upstream.tunnelProtocol()) {
      case HBONE -> new Route.Hbone(
          withPort(authority, HBONE_PORT), authority, identities(upstream.identity(), svc.map(Service::subjectAltNames)),
          Route.Hop.WORKLOAD, upstream, svc);
      case NONE -> new Route.Direct(authority, upstream, svc);
    };
  }

  /**
   * Target port per §5.1 step 3: endpoint port map, then the service's non-zero target port, then the
   * service port itself when the endpoint's workload has an application tunnel.
   */
  static OptionalInt targetPort(ServiceEntry svc, LoadBalancer.Pick pick, int servicePort) {
    OptionalInt fromEndpoint = pick.endpoint().targetPort(servicePort);
    if (fromEndpoint.isPresent()) {
      return fromEndpoint;
    }
    OptionalInt fromService = svc.servicePortTarget(servicePort);
    if (fromService.isPresent() && fromService.getAsInt() != 0) {
      return fromService;
    }
    if (pick.workload().applicationTunnel().isPresent()) {
      return OptionalInt.of(servicePort);
    }
    return OptionalInt.empty();
  }

  private static Route viaWaypoint(
      ProxyState state, Workload source, GatewayAddress waypoint, InetSocketAddress originalDst, Route.Hop hop,
      Optional<ServiceEntry> addressedService, RandomGenerator random) {
    Optional<Gateways.Resolved> resolved = Gateways.resolve(state, waypoint, source, random);
    if (resolved.isEmpty()) {
      return new Route.Reject(Route.Reason.UNKNOWN_GATEWAY, "waypoint " + waypoint.destination() + " not found");
    }
    Gateways.Resolved wp = resolved.get();
    Workload wpWorkload = wp.workload();
    Optional<Service> wpService = wp.service().map(ServiceEntry::service);
    if (!wpWorkload.network().equals(source.network())) {
      if (addressedService.isEmpty()) {
        return new Route.Reject(Route.Reason.NO_VALID_DESTINATION, "workload waypoint " + wpWorkload.uid() + " is on another network");
      }
      Service svc = addressedService.get().service();
      List<SpiffeId> innerSans = wpService.map(Service::subjectAltNames).orElse(svc.subjectAltNames());
      return doubleHbone(state, source, wpWorkload, originalDst.getAddress(), svc.hostname(), originalDst.getPort(),
          innerSans, svc, random);
    }
    Optional<InetSocketAddress> dst =
        Destinations.choose(wpWorkload, wpService, originalDst.getAddress(), wp.hboneMtlsPort());
    if (dst.isEmpty()) {
      return new Route.Reject(Route.Reason.NO_VALID_DESTINATION, "no usable address for waypoint " + wpWorkload.uid());
    }
    return new Route.Hbone(dst.get(), originalDst, wp.identities(), hop, wpWorkload, addressedService.map(ServiceEntry::service));
  }

  private static Route doubleHbone(
      ProxyState state, Workload source, Workload remote, InetAddress target, String hostname, int port,
      List<SpiffeId> innerSans, Service service, RandomGenerator random) {
    Optional<GatewayAddress> gateway = remote.networkGateway();
    if (gateway.isEmpty()) {
      return new Route.Reject(Route.Reason.NO_VALID_DESTINATION,
          "workload " + remote.uid() + " is on network '" + remote.network() + "' without a network gateway");
    }
    Optional<Gateways.Resolved> gw = Gateways.resolve(state, gateway.get(), source, random);
    if (gw.isEmpty()) {
      return new Route.Reject(Route.Reason.UNKNOWN_GATEWAY, "network gateway " + gateway.get().destination() + " not found");
    }
    Optional<InetSocketAddress> dst = Destinations.choose(
        gw.get().workload(), gw.get().service().map(ServiceEntry::service), target, gateway.get().hboneMtlsPort());
    if (dst.isEmpty()) {
      return new Route.Reject(Route.Reason.NO_VALID_DESTINATION, "no usable address for gateway " + gw.get().workload().uid());
    }
    return new Route.DoubleHbone(dst.get(), gw.get().identities(), hostname, port, innerSans, source.network(), remote, service);
  }

  private static List<SpiffeId> identities(SpiffeId first, Optional<List<SpiffeId>> more) {
    Set<SpiffeId> ids = new LinkedHashSet<>();
    ids.add(first);
    more.ifPresent(ids::addAll);
    return List.copyOf(ids);
  }

  private static InetSocketAddress withPort(InetSocketAddress a, int port) {
    return a.isUnresolved() ? InetSocketAddress.createUnresolved(a.getHostString(), port)
        : new InetSocketAddress(a.getAddress(), port);
  }
}
