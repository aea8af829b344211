package dev.ambient.xds.client;

import static java.util.Objects.requireNonNull;

/** A service (or hostname workload) named by namespace and FQDN. */
public record NamespacedHostname(String namespace, String hostname) implements GatewayAddress.Destination {
  public NamespacedHostname {
    requireNonNull(namespace, "namespace");
    requireNonNull(hostname, "hostname");
  }
}
