package dev.ambient.ztunnel.proxy.inbound;

import static java.util.Objects.requireNonNull;

import dev.ambient.hbone.Authority;
import dev.ambient.hbone.HboneRequest;
import dev.ambient.identity.SpiffeId;
import dev.ambient.xds.client.ApplicationTunnel;
import dev.ambient.xds.client.GatewayAddress;
import dev.ambient.xds.client.NamespacedHostname;
import dev.ambient.xds.client.NetworkAddress;
import dev.ambient.xds.client.Port;
import dev.ambient.xds.client.Service;
import dev.ambient.xds.client.Workload;
import dev.ambient.ztunnel.authz.AuthorizedConnection;
import dev.ambient.ztunnel.authz.Authorizer;
import dev.ambient.ztunnel.authz.Connection;
import dev.ambient.ztunnel.authz.Decision;
import dev.ambient.ztunnel.authz.PolicyIndex;
import dev.ambient.ztunnel.proxy.OutboundDecision;
import dev.ambient.ztunnel.state.Endpoint;
import dev.ambient.ztunnel.state.NetworkIp;
import dev.ambient.ztunnel.state.ProxyState;
import dev.ambient.ztunnel.state.ServiceEntry;
import dev.ambient.ztunnel.telemetry.Baggage;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * The inbound HBONE decision for one CONNECT stream (ztunnel's {@code validate_destination},
 * {@code find_inbound_upstream} and the RBAC check; spec §4.5 steps 4–6, §5.2, §5.3): a pure
 * function of the request facts, a state snapshot, the local workload and the policies.
 *
 * <p>Order: destination validation ({@link Reason#IP_MISMATCH}, 400), upstream port resolution
 * ({@link Reason#UNKNOWN_HOSTNAME}, {@link Reason#NO_TARGET_PORT}, {@link Reason#SELF_CALL}, 503),
 * authorization ({@link Denied}, 401), else {@link Accepted}. Steps 1–3 (method, authority syntax,
 * local workload) happen before: in the HBONE server and the listener.
 */
public final class InboundDecision {
  /** The header naming the sender's network on the inner request of double HBONE. */
  static final String X_FORWARDED_NETWORK = "x-forwarded-network";
  static final String FORWARDED = "forwarded";

  private InboundDecision() {}

  /** What to do with the stream; dispatch with {@code switch}. */
  public sealed interface Outcome permits Rejected, Denied, Accepted {
    /** The HTTP status to answer: 200 for an accept (sent once upstream is connected). */
    int status();
  }

  /** Why a stream was rejected before authorization. */
  public enum Reason {
    /** The authority IP is not the arrival IP and no app tunnel or sandwich case applies (§5.3). */
    IP_MISMATCH(400),
    /** A hostname authority that names no known service. */
    UNKNOWN_HOSTNAME(503),
    /** The service has no target port for the requested port. */
    NO_TARGET_PORT(503),
    /** The resolved upstream port is one of the proxy's own (15001/15006/15008). */
    SELF_CALL(503);

    private final int status;

    Reason(int status) {
      this.status = status;
    }

    public int status() {
      return status;
    }
  }

  /** Refused before authorization. */
  public record Rejected(Reason reason, String detail) implements Outcome {
    public Rejected {
      requireNonNull(reason, "reason");
      requireNonNull(detail, "detail");
    }

    @Override
    public int status() {
      return reason.status();
    }
  }

  /**
   * Refused by policy (401); {@code connection} is the RBAC tuple that was denied, {@code sourceWorkload} the peer
   * for telemetry (as in {@link Accepted}).
   */
  public record Denied(Connection connection, Decision.Deny deny, Optional<Workload> sourceWorkload,
      Map<String, String> sourceBaggage)
      implements Outcome {
    public Denied {
      requireNonNull(connection, "connection");
      requireNonNull(deny, "deny");
      requireNonNull(sourceWorkload, "sourceWorkload");
      sourceBaggage = Map.copyOf(sourceBaggage);
    }

    @Override
    public int status() {
      return 401;
    }
  }

  /**
   * A PROXY v2 header to write upstream before any client byte (app tunnel {@code PROXY}, §4.8).
   *
   * @param source the original client address
   * @param destination the HBONE authority (a VIP of the service for hostname authorities)
   * @param identity the client's identity, sent as TLV {@code 0xD0}
   */
  public record ProxyHeader(InetSocketAddress source, InetSocketAddress destination, Optional<SpiffeId> identity) {
    public ProxyHeader {
      requireNonNull(source, "source");
      requireNonNull(destination, "destination");
      requireNonNull(identity, "identity");
    }
  }

  /**
   * Connect upstream and relay.
   *
   * @param authorized the authorization proof (its connection is the RBAC tuple)
   * @param upstream where to connect: the arrival IP (or loopback for a localhost app tunnel) and
   *     the resolved port
   * @param spoofSource bind the upstream socket to this client IP when the listener is transparent;
   *     empty when the client IP is the destination IP or the upstream is a loopback app tunnel
   * @param proxyHeader the PROXY v2 header to write first, for a PROXY app tunnel
   * @param sourceWorkload the peer workload for telemetry; empty when unknown or via a gateway
   * @param destinationService the destination service for telemetry
   * @param sourceBaggage the request's {@code baggage} attributes
   */
  public record Accepted(
      AuthorizedConnection authorized,
      InetSocketAddress upstream,
      Optional<InetAddress> spoofSource,
      Optional<ProxyHeader> proxyHeader,
      Optional<Workload> sourceWorkload,
      Optional<Service> destinationService,
      Map<String, String> sourceBaggage)
      implements Outcome {
    public Accepted {
      requireNonNull(authorized, "authorized");
      requireNonNull(upstream, "upstream");
      requireNonNull(spoofSource, "spoofSource");
      requireNonNull(proxyHeader, "proxyHeader");
      requireNonNull(sourceWorkload, "sourceWorkload");
      requireNonNull(destinationService, "destinationService");
      sourceBaggage = Map.copyOf(sourceBaggage);
    }

    @Override
    public int status() {
      return 200;
    }
  }

  /**
   * The local side of the decision: the state snapshot, the workload this listener serves, its
   * network and whether app tunnels are dialled on loopback ({@code LOCALHOST_APP_TUNNEL}).
   */
  public record Local(ProxyState state, Workload workload, String network, boolean localhostAppTunnel) {
    public Local {
      requireNonNull(state, "state");
      requireNonNull(workload, "workload");
      requireNonNull(network, "network");
    }
  }

  /** Decides for {@code request} arriving at {@code local}. */
  public static Outcome decide(HboneRequest request, Local local, Authorizer authorizer, PolicyIndex policies) {
    requireNonNull(request, "request");
    requireNonNull(local, "local");
    InetAddress arrival = requireNonNull(request.localAddress().getAddress(), "arrival address");
    InetSocketAddress peer = request.remoteAddress();
    InetAddress peerIp = requireNonNull(peer.getAddress(), "peer address");
    Authority authority = request.authority();
    Workload self = local.workload();

    // Step 4: destination validation.
    Optional<String> mismatch = validateDestination(local, arrival, authority);
    if (mismatch.isPresent()) {
      return new Rejected(Reason.IP_MISMATCH, mismatch.get());
    }

    // Step 5: upstream port resolution.
    Optional<ServiceEntry> addressed = Optional.empty();
    int port;
    if (authority.isIp()) {
      port = authority.port();
    } else {
      addressed = serviceForHostname(local.state(), authority.host(), self.namespace());
      if (addressed.isEmpty()) {
        return new Rejected(Reason.UNKNOWN_HOSTNAME, "no service with hostname " + authority.host());
      }
      OptionalInt target = hostnameTargetPort(addressed.get(), self, authority.port());
      if (target.isEmpty()) {
        return new Rejected(Reason.NO_TARGET_PORT,
            "service " + addressed.get().key() + " has no target port for port " + authority.port());
      }
      port = target.getAsInt();
    }
    int servicePortTarget = port; // before an app tunnel override: what services map to
    Optional<ApplicationTunnel> tunnel = self.applicationTunnel();
    if (tunnel.isPresent() && tunnel.get().port() != 0) {
      port = tunnel.get().port();
    }
    if (OutboundDecision.ILLEGAL_PORTS.contains(port)) {
      return new Rejected(Reason.SELF_CALL, "upstream port " + port + " is a proxy port");
    }

    // Step 6: authorization on the final upstream address.
    Connection rbac = new Connection(peerIp, peer.getPort(), arrival, port, Optional.of(request.peerIdentity()),
        local.network());
    Optional<Workload> source = viaGateway(request, local.network())
        ? Optional.empty()
        : local.state().workloadByAddress(new NetworkIp(local.network(), peerIp));
    AuthorizedConnection authorized;
    switch (authorizer.authorize(rbac, self, policies)) {
      case Decision.Deny deny -> {
        // Through a gateway the source workload is unknown: the request's baggage names it (spec §4.7).
        return new Denied(rbac, deny, source, Baggage.parse(request.header(Baggage.HEADER).orElse(null)));
      }
      case Decision.Allow allow -> authorized = allow.connection();
    }

    boolean loopbackTunnel = tunnel.isPresent() && local.localhostAppTunnel();
    InetAddress upstreamIp = loopbackTunnel ? loopbackLike(arrival) : arrival;
    InetSocketAddress upstream = new InetSocketAddress(upstreamIp, port);
    Optional<InetAddress> spoof = loopbackTunnel || peerIp.equals(upstreamIp) ? Optional.empty() : Optional.of(peerIp);

    Optional<ProxyHeader> header = Optional.empty();
    if (tunnel.isPresent() && tunnel.get().protocol() == ApplicationTunnel.Protocol.PROXY) {
      InetSocketAddress dst = authority.isIp()
          ? authority.socketAddress().orElseThrow()
          : new InetSocketAddress(
              preferredVip(addressed.orElseThrow().service(), local.network()).orElse(arrival), authority.port());
      header = Optional.of(new ProxyHeader(peer, dst, Optional.of(request.peerIdentity())));
    }

    Optional<Service> service = !authority.isIp()
        ? addressed.map(ServiceEntry::service)
        : destinationService(local.state(), self, request.header(FORWARDED).flatMap(Forwarded::host),
            servicePortTarget);
    Map<String, String> baggage = Baggage.parse(request.header(Baggage.HEADER).orElse(null));
    return new Accepted(authorized, upstream, spoof, header, source, service, baggage);
  }

  /**
   * §5.3: an IP authority must be the arrival IP, unless the local workload has an app tunnel or
   * the authority is a service/workload whose waypoint is this workload. Returns why not, if not.
   */
  static Optional<String> validateDestination(Local local, InetAddress arrival, Authority authority) {
    InetAddress target = authority.address();
    if (target == null || target.equals(arrival) || local.workload().applicationTunnel().isPresent()) {
      return Optional.empty();
    }
    ProxyState state = local.state();
    NetworkIp key = new NetworkIp(local.network(), target);
    Optional<GatewayAddress> waypoint;
    Optional<Workload> targetWorkload = state.workloadByAddress(key);
    if (targetWorkload.isPresent()) {
      waypoint = targetWorkload.get().waypoint();
    } else {
      waypoint = state.findServiceByVip(key, local.workload().namespace()).flatMap(s -> s.service().waypoint());
    }
    if (waypoint.isPresent() && isLocalWaypoint(state, waypoint.get(), local, arrival)) {
      return Optional.empty(); // waypoint sandwich
    }
    return Optional.of("authority " + authority + " does not match the destination " + arrival.getHostAddress());
  }

  /**
   * Whether {@code waypoint} resolves to the local workload: a waypoint service of which it is an
   * endpoint, or a waypoint workload owning the arrival IP.
   */
  private static boolean isLocalWaypoint(ProxyState state, GatewayAddress waypoint, Local local, InetAddress arrival) {
    String uid = local.workload().uid();
    return switch (waypoint.destination()) {
      case NamespacedHostname h -> {
        Optional<ServiceEntry> svc = state.service(h.namespace(), h.hostname());
        if (svc.isPresent()) {
          yield svc.get().endpoints().containsKey(uid);
        }
        yield state.workloadsByHostname(h.namespace(), h.hostname()).stream()
            .anyMatch(w -> w.addresses().contains(arrival));
      }
      case NetworkAddress a -> {
        NetworkIp key = new NetworkIp(a.network(), a.address());
        Optional<Workload> w = state.workloadByAddress(key);
        if (w.isPresent()) {
          yield w.get().addresses().contains(arrival);
        }
        yield state.findServiceByVip(key, local.workload().namespace())
            .map(s -> s.endpoints().containsKey(uid)).orElse(false);
      }
    };
  }

  /** The service with {@code hostname}, preferring the local workload's namespace. */
  static Optional<ServiceEntry> serviceForHostname(ProxyState state, String hostname, String namespace) {
    List<ServiceEntry> all = state.servicesByHostname(hostname);
    return all.stream().filter(s -> s.service().namespace().equals(namespace)).findFirst()
        .or(() -> all.stream().findFirst());
  }

  /**
   * The target port of {@code servicePort} for the local endpoint: its port map, then the service's
   * non-zero target port, then the port itself when the local workload has an app tunnel.
   */
  static OptionalInt hostnameTargetPort(ServiceEntry svc, Workload self, int servicePort) {
    Endpoint ep = svc.endpoints().get(self.uid());
    if (ep != null) {
      OptionalInt p = ep.targetPort(servicePort);
      if (p.isPresent()) {
        return p;
      }
    }
    OptionalInt fromService = svc.servicePortTarget(servicePort);
    if (fromService.isPresent() && fromService.getAsInt() != 0) {
      return fromService;
    }
    return self.applicationTunnel().isPresent() ? OptionalInt.of(servicePort) : OptionalInt.empty();
  }

  /**
   * The destination service for telemetry: the {@code forwarded;host=} service if the local workload
   * belongs to it, else the first (by key) local service with a port targeting {@code targetPort}
   * (through the workload's port map or the service's target port).
   */
  static Optional<Service> destinationService(
      ProxyState state, Workload self, Optional<String> forwardedHost, int targetPort) {
    List<String> keys = self.services().keySet().stream().sorted().toList();
    if (forwardedHost.isPresent()) {
      for (String key : keys) {
        Optional<ServiceEntry> e = state.serviceByKey(key);
        if (e.isPresent() && e.get().service().hostname().equals(forwardedHost.get())) {
          return Optional.of(e.get().service());
        }
      }
    }
    for (String key : keys) {
      Optional<ServiceEntry> e = state.serviceByKey(key);
      if (e.isEmpty()) {
        continue;
      }
      List<Port> endpointPorts = self.services().getOrDefault(key, List.of());
      for (Port p : e.get().service().ports()) {
        int target = endpointPorts.stream().filter(ep -> ep.servicePort() == p.servicePort() && ep.targetPort() != 0)
            .mapToInt(Port::targetPort).findFirst().orElse(p.targetPort());
        if (target == targetPort) {
          return Optional.of(e.get().service());
        }
      }
    }
    return Optional.empty();
  }

  /** A VIP of {@code service} on {@code network}, IPv4 first; then any VIP. */
  static Optional<InetAddress> preferredVip(Service service, String network) {
    return service.addresses().stream()
        .filter(a -> !a.isCidr())
        .min(Comparator.comparingInt((NetworkAddress a) -> a.network().equals(network) ? 0 : 2)
            .thenComparingInt(a -> a.address() instanceof Inet4Address ? 0 : 1))
        .map(NetworkAddress::address);
  }

  /** Whether the request came through a network gateway: {@code x-forwarded-network} names another network. */
  static boolean viaGateway(HboneRequest request, String network) {
    return request.header(X_FORWARDED_NETWORK).map(n -> !n.equalsIgnoreCase(network)).orElse(false);
  }

  private static final InetAddress V4_LOOPBACK = literal(new byte[] {127, 0, 0, 1});
  private static final InetAddress V6_LOOPBACK =
      literal(new byte[] {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1});

  /** The loopback address of {@code address}'s family. */
  private static InetAddress loopbackLike(InetAddress address) {
    return address instanceof Inet6Address ? V6_LOOPBACK : V4_LOOPBACK;
  }

  private static InetAddress literal(byte[] bytes) {
    try {
      return InetAddress.getByAddress(bytes);
    } catch (java.net.UnknownHostException e) {
      throw new AssertionError(e);
    }
  }
}
