package dev.ambient.ztunnel.state;

import static java.util.Objects.requireNonNull;

import dev.ambient.xds.client.LoadBalancing;
import dev.ambient.xds.client.Port;
import dev.ambient.xds.client.Service;
import java.util.Map;
import java.util.OptionalInt;

/**
 * A service with its current endpoints (by workload uid), already health-filtered: unhealthy
 * endpoints are only present when the service's health policy is {@code ALLOW_ALL}.
 */
public record ServiceEntry(Service service, Map<String, Endpoint> endpoints) {
  public ServiceEntry {
    requireNonNull(service, "service");
    endpoints = Map.copyOf(endpoints);
  }

  /** {@code namespace/hostname}. */
  public String key() {
    return service.key();
  }

  /** The service's target port for {@code servicePort}: empty when the service lacks the port; 0 = named port. */
  public OptionalInt servicePortTarget(int servicePort) {
    for (Port p : service.ports()) {
      if (p.servicePort() == servicePort) {
        return OptionalInt.of(p.targetPort());
      }
    }
    return OptionalInt.empty();
  }

  /** The load balancing mode, STANDARD when the service sets none. */
  public LoadBalancing.Mode mode() {
    return service.loadBalancing().map(LoadBalancing::mode).orElse(LoadBalancing.Mode.STANDARD);
  }

  /** Whether unhealthy endpoints are kept. */
  static boolean allowsUnhealthy(Service service) {
    return service.loadBalancing().map(LoadBalancing::healthPolicy).orElse(LoadBalancing.HealthPolicy.ONLY_HEALTHY)
        == LoadBalancing.HealthPolicy.ALLOW_ALL;
  }
}
