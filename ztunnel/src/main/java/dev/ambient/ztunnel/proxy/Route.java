package dev.ambient.ztunnel.proxy;

import static java.util.Objects.requireNonNull;

import dev.ambient.identity.SpiffeId;
import dev.ambient.xds.client.Service;
import dev.ambient.xds.client.Workload;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Optional;

/**
 * What to do with one outbound connection (spec §5.1), decided by {@link OutboundDecision} and
 * carried out by the connection code. Addresses may be unresolved (hostname workloads, §5.5 step 3):
 * the connector resolves them.
 */
public sealed interface Route {

  /** Why the next hop is a waypoint or the workload itself. */
  enum Hop { WORKLOAD, SERVICE_WAYPOINT, WORKLOAD_WAYPOINT }

  /**
   * HBONE to {@code destination} (port 15008 or the waypoint's HBONE port) with CONNECT {@code
   * :authority} = {@code authority}, accepting any of {@code expectedIdentities}.
   */
  record Hbone(
      InetSocketAddress destination,
      InetSocketAddress authority,
      List<SpiffeId> expectedIdentities,
      Hop hop,
      Workload upstream,
      Optional<Service> service)
      implements Route {
    public Hbone {
      requireNonNull(destination, "destination");
      requireNonNull(authority, "authority");
      expectedIdentities = List.copyOf(expectedIdentities);
      requireNonNull(hop, "hop");
      requireNonNull(upstream, "upstream");
      requireNonNull(service, "service");
    }
  }

  /** Plain TCP to a workload that does not speak HBONE. */
  record Direct(InetSocketAddress destination, Workload upstream, Optional<Service> service) implements Route {
    public Direct {
      requireNonNull(destination, "destination");
      requireNonNull(upstream, "upstream");
      requireNonNull(service, "service");
    }
  }

  /**
   * Double HBONE through a remote network's gateway (spec §4.7): outer HBONE to {@code gateway}
   * expecting {@code gatewayIdentities}; inner (unpooled) HBONE with {@code :authority =
   * hostname:port}, expecting {@code innerIdentities}, header {@code x-forwarded-network:
   * forwardedNetwork}.
   */
  record DoubleHbone(
      InetSocketAddress gateway,
      List<SpiffeId> gatewayIdentities,
      String hostname,
      int port,
      List<SpiffeId> innerIdentities,
      String forwardedNetwork,
      Workload upstream,
      Service service)
      implements Route {
    public DoubleHbone {
      requireNonNull(gateway, "gateway");
      gatewayIdentities = List.copyOf(gatewayIdentities);
      requireNonNull(hostname, "hostname");
      innerIdentities = List.copyOf(innerIdentities);
      requireNonNull(forwardedNetwork, "forwardedNetwork");
      requireNonNull(upstream, "upstream");
      requireNonNull(service, "service");
    }

    /** {@code hostname:port}, the outer and inner {@code :authority}. */
    public String authority() {
      return hostname + ":" + port;
    }
  }

  /** Plain TCP to the original destination: not a mesh destination (or a PASSTHROUGH service). */
  record Passthrough(InetSocketAddress originalDestination) implements Route {
    public Passthrough {
      requireNonNull(originalDestination, "originalDestination");
    }
  }

  /** Close the connection. */
  record Reject(Reason reason, String detail) implements Route {
    public Reject {
      requireNonNull(reason, "reason");
      requireNonNull(detail, "detail");
    }
  }

  /** Closed set of rejection causes. */
  enum Reason {
    /** A loopback destination on one of the proxy's own ports (15001/15006/15008). */
    SELF_CALL,
    /** A non-passthrough service with no usable endpoint (or no target port). */
    NO_HEALTHY_UPSTREAM,
    /** The upstream cannot be reached: another network without a gateway, or no usable address. */
    NO_VALID_DESTINATION,
    /** A waypoint or network gateway named in xDS is not known. */
    UNKNOWN_GATEWAY
  }
}
