package dev.ambient.xds.client;

import static dev.ambient.xds.client.CommonParsers.gatewayAddress;

import dev.ambient.identity.SpiffeId;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Converts an {@code istio.workload.Service} into a {@link Service}, enforcing spec §1.1. */
public final class ServiceParser {
  private static final Logger log = LoggerFactory.getLogger(ServiceParser.class);

  private ServiceParser() {}

  /** Validates and converts; throws with the reason for the first broken rule. */
  public static Service parse(dev.ambient.xds.api.workload.Service s) throws ResourceInvalidException {
    List<NetworkAddress> addresses = new ArrayList<>(s.getAddressesCount());
    for (var a : s.getAddressesList()) {
      addresses.add(CommonParsers.networkAddress(a));
    }
    List<Port> ports = new ArrayList<>(s.getPortsCount());
    s.getPortsList().forEach(p -> ports.add(CommonParsers.port(p)));
    List<SpiffeId> sans = new ArrayList<>(s.getSubjectAltNamesCount());
    for (String san : s.getSubjectAltNamesList()) {
      Optional<SpiffeId> id = SpiffeId.tryParse(san);
      if (id.isPresent()) {
        sans.add(id.get());
      } else {
        log.warn("service {}/{}: ignoring invalid subject alt name {}", s.getNamespace(), s.getHostname(), san);
      }
    }
    Optional<LoadBalancing> lb = s.hasLoadBalancing() ? Optional.of(loadBalancing(s.getLoadBalancing())) : Optional.empty();
    Service.IpFamilies families = switch (s.getIpFamiliesValue()) {
      case 0 -> Service.IpFamilies.AUTOMATIC;
      case 1 -> Service.IpFamilies.IPV4_ONLY;
      case 2 -> Service.IpFamilies.IPV6_ONLY;
      case 3 -> Service.IpFamilies.DUAL;
      default -> throw new ResourceInvalidException("unknown ip families " + s.getIpFamiliesValue());
    };
    List<WeightedWaypoint> weighted = new ArrayList<>(s.getWeightedWaypointsCount());
    for (var ww : s.getWeightedWaypointsList()) {
      if (!ww.hasDestination()) {
        throw new ResourceInvalidException("weighted waypoint is missing its destination");
      }
      weighted.add(new WeightedWaypoint(gatewayAddress(ww.getDestination()), ww.getWeight() & Integer.MAX_VALUE));
    }
    // The one enum where an unknown value is not an error: fail open to PUBLIC, as ztunnel does.
    Service.Visibility visibility = s.getVisibilityValue() == 1 ? Service.Visibility.NAMESPACE : Service.Visibility.PUBLIC;
    return new Service(
        s.getName(),
        s.getNamespace(),
        s.getHostname(),
        addresses,
        ports,
        sans,
        s.hasWaypoint() ? Optional.of(gatewayAddress(s.getWaypoint())) : Optional.empty(),
        lb,
        families,
        s.getCanonical(),
        weighted,
        visibility);
  }

  static LoadBalancing loadBalancing(dev.ambient.xds.api.workload.LoadBalancing lb) throws ResourceInvalidException {
    List<LoadBalancing.Scope> prefs = new ArrayList<>(lb.getRoutingPreferenceCount());
    for (int v : lb.getRoutingPreferenceValueList()) {
      prefs.add(switch (v) {
        case 1 -> LoadBalancing.Scope.REGION;
        case 2 -> LoadBalancing.Scope.ZONE;
        case 3 -> LoadBalancing.Scope.SUBZONE;
        case 4 -> LoadBalancing.Scope.NODE;
        case 5 -> LoadBalancing.Scope.CLUSTER;
        case 6 -> LoadBalancing.Scope.NETWORK;
        case 0 -> throw new ResourceInvalidException("routing preference UNSPECIFIED_SCOPE is not allowed");
        default -> throw new ResourceInvalidException("unknown routing preference " + v);
      });
    }
    LoadBalancing.Mode mode = switch (lb.getModeValue()) {
      case 0 -> LoadBalancing.Mode.STANDARD;
      case 1 -> LoadBalancing.Mode.STRICT;
      case 2 -> LoadBalancing.Mode.FAILOVER;
      case 3 -> LoadBalancing.Mode.PASSTHROUGH;
      default -> throw new ResourceInvalidException("unknown load balancing mode " + lb.getModeValue());
    };
    LoadBalancing.HealthPolicy health = switch (lb.getHealthPolicyValue()) {
      case 0 -> LoadBalancing.HealthPolicy.ONLY_HEALTHY;
      case 1 -> LoadBalancing.HealthPolicy.ALLOW_ALL;
      default -> throw new ResourceInvalidException("unknown health policy " + lb.getHealthPolicyValue());
    };
    return new LoadBalancing(prefs, mode, health);
  }
}
