package dev.ambient.xds.config;

import dev.ambient.xds.api.security.Authorization;
import dev.ambient.xds.api.workload.Address;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The resources of one or more local-config documents, keyed by xDS resource name, in file order.
 *
 * @param addresses workloads (by uid) and services (by {@code namespace/hostname})
 * @param policies authorizations by {@code namespace/name}
 * @param workloadLabels our {@code labels} extension, by workload uid (only workloads that have labels)
 */
public record LocalConfig(
    Map<String, Address> addresses, Map<String, Authorization> policies, Map<String, Map<String, String>> workloadLabels) {
  public LocalConfig {
    addresses = frozen(addresses);
    policies = frozen(policies);
    workloadLabels = frozen(workloadLabels);
  }

  static <K, V> Map<K, V> frozen(Map<K, V> map) {
    return Collections.unmodifiableMap(new LinkedHashMap<>(map));
  }
}
