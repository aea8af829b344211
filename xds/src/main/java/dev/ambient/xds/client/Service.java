package dev.ambient.xds.client;

import static java.util.Objects.requireNonNull;

import dev.ambient.identity.SpiffeId;
import java.util.List;
import java.util.Optional;

/**
 * A service from istiod's workload API, validated. Immutable; built by {@link ServiceParser}.
 * Endpoints are not here: workloads name the services they belong to.
 *
 * @param addresses VIPs (empty = headless); a CIDR {@link NetworkAddress} is a CIDR VIP
 * @param subjectAltNames extra identities accepted for this service's endpoints (invalid ones dropped)
 */
public record Service(
    String name,
    String namespace,
    String hostname,
    List<NetworkAddress> addresses,
    List<Port> ports,
    List<SpiffeId> subjectAltNames,
    Optional<GatewayAddress> waypoint,
    Optional<LoadBalancing> loadBalancing,
    IpFamilies ipFamilies,
    boolean canonical,
    List<WeightedWaypoint> weightedWaypoints,
    Visibility visibility)
    implements AddressResource {

  /** Which endpoint IP families (and DNS record types) are used. */
  public enum IpFamilies { AUTOMATIC, IPV4_ONLY, IPV6_ONLY, DUAL }

  /** NAMESPACE: only clients in the same namespace may resolve or route to it. */
  public enum Visibility { PUBLIC, NAMESPACE }

  public Service {
    requireNonNull(name, "name");
    requireNonNull(namespace, "namespace");
    requireNonNull(hostname, "hostname");
    addresses = List.copyOf(addresses);
    ports = List.copyOf(ports);
    subjectAltNames = List.copyOf(subjectAltNames);
    requireNonNull(waypoint, "waypoint");
    requireNonNull(loadBalancing, "loadBalancing");
    requireNonNull(ipFamilies, "ipFamilies");
    weightedWaypoints = List.copyOf(weightedWaypoints);
    requireNonNull(visibility, "visibility");
  }

  /** {@code namespace/hostname}. */
  @Override
  public String key() {
    return namespace + "/" + hostname;
  }
}
