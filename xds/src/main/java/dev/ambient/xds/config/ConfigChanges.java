package dev.ambient.xds.config;

import java.util.Set;

/**
 * What one {@link ConfigDirectory#load()} changed relative to the previous load of the same {@code ConfigDirectory}
 * (the first load: relative to nothing, so every name). A name is listed when its resource was added, removed or
 * replaced by a different instance; every other resource (and its alias list) is the same instance as before.
 *
 * @param addresses address resource names (workload uids, service {@code namespace/hostname})
 * @param policies policy names ({@code namespace/name})
 */
public record ConfigChanges(Set<String> addresses, Set<String> policies) {
  public ConfigChanges {
    addresses = Set.copyOf(addresses);
    policies = Set.copyOf(policies);
  }
}
