package dev.ambient.xds.config;

import dev.ambient.xds.api.security.Authorization;
import dev.ambient.xds.api.workload.Address;
import java.util.List;
import java.util.Map;

/**
 * Everything a config directory says, as the resources an xDS server sends. Immutable. The maps are {@link PersistentMap}s: a
 * snapshot after a small change shares nearly everything with the one before. They iterate in a stable order for
 * the same content (hash order, not file order).
 *
 * @param addresses workloads by uid and services by {@code namespace/hostname}; workloads have
 *     {@code authorization_policies} filled in from selector matching
 * @param aliases per address resource name, the alias names istiod uses for on-demand lookup: {@code network/IP}
 *     for each workload IP, {@code network/VIP} (or {@code network/IP/length} for a CIDR) for each service VIP
 * @param policies by {@code namespace/name}
 */
public record ConfigSnapshot(
    Map<String, Address> addresses, Map<String, List<String>> aliases, Map<String, Authorization> policies) {
  public static final ConfigSnapshot EMPTY = new ConfigSnapshot(Map.of(), Map.of(), Map.of());

  public ConfigSnapshot {
    addresses = PersistentMap.copyOf(addresses);
    aliases = PersistentMap.copyOf(aliases);
    policies = PersistentMap.copyOf(policies);
  }
}
