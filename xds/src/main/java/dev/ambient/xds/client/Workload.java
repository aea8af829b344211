package dev.ambient.xds.client;

import static java.util.Objects.requireNonNull;

import dev.ambient.identity.SpiffeId;
import java.net.InetAddress;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A workload from istiod's workload API, validated and with the spec's defaults applied (trust
 * domain {@code cluster.local}, service account {@code default}, cluster {@code Kubernetes},
 * capacity 1). Immutable; built by {@link WorkloadParser}.
 *
 * @param services {@code namespace/hostname} of each service this workload is an endpoint of, with
 *     its per-endpoint port map
 * @param authorizationPolicies {@code namespace/name} of the WORKLOAD_SELECTOR policies that apply
 */
public record Workload(
    String uid,
    String name,
    String namespace,
    List<InetAddress> addresses,
    String hostname,
    String network,
    TunnelProtocol tunnelProtocol,
    String trustDomain,
    String serviceAccount,
    Optional<GatewayAddress> waypoint,
    Optional<GatewayAddress> networkGateway,
    String node,
    String canonicalName,
    String canonicalRevision,
    WorkloadType workloadType,
    String workloadName,
    boolean nativeTunnel,
    Optional<ApplicationTunnel> applicationTunnel,
    Map<String, List<Port>> services,
    List<String> authorizationPolicies,
    Status status,
    String clusterId,
    Optional<Locality> locality,
    NetworkMode networkMode,
    int capacity)
    implements AddressResource {

  /** How to reach the workload. (LEGACY_ISTIO_MTLS is rejected by the parser.) */
  public enum TunnelProtocol { NONE, HBONE }

  /** Unhealthy workloads are not endpoints unless the service allows all. */
  public enum Status { HEALTHY, UNHEALTHY }

  /** The controller kind, lower-cased in baggage. */
  public enum WorkloadType { DEPLOYMENT, CRONJOB, POD, JOB }

  /** HOST_NETWORK workloads share the node IP and are not indexed by address. */
  public enum NetworkMode { STANDARD, HOST_NETWORK }

  public static final String DEFAULT_TRUST_DOMAIN = "cluster.local";
  public static final String DEFAULT_SERVICE_ACCOUNT = "default";
  public static final String DEFAULT_CLUSTER_ID = "Kubernetes";
  public static final int DEFAULT_CAPACITY = 1;

  public Workload {
    requireNonNull(uid, "uid");
    requireNonNull(name, "name");
    requireNonNull(namespace, "namespace");
    addresses = List.copyOf(addresses);
    requireNonNull(hostname, "hostname");
    requireNonNull(network, "network");
    requireNonNull(tunnelProtocol, "tunnelProtocol");
    requireNonNull(trustDomain, "trustDomain");
    requireNonNull(serviceAccount, "serviceAccount");
    requireNonNull(waypoint, "waypoint");
    requireNonNull(networkGateway, "networkGateway");
    requireNonNull(node, "node");
    requireNonNull(canonicalName, "canonicalName");
    requireNonNull(canonicalRevision, "canonicalRevision");
    requireNonNull(workloadType, "workloadType");
    requireNonNull(workloadName, "workloadName");
    requireNonNull(applicationTunnel, "applicationTunnel");
    services = Map.copyOf(services.entrySet().stream()
        .collect(java.util.stream.Collectors.toMap(Map.Entry::getKey, e -> List.copyOf(e.getValue()))));
    authorizationPolicies = List.copyOf(authorizationPolicies);
    requireNonNull(status, "status");
    requireNonNull(clusterId, "clusterId");
    requireNonNull(locality, "locality");
    requireNonNull(networkMode, "networkMode");
    if (capacity < 0) {
      throw new IllegalArgumentException("capacity " + capacity);
    }
  }

  @Override
  public String key() {
    return uid;
  }

  /** The workload's SPIFFE identity; throws {@link IllegalArgumentException} if the namespace is empty. */
  public SpiffeId identity() {
    return SpiffeId.of(trustDomain, namespace, serviceAccount);
  }
}
