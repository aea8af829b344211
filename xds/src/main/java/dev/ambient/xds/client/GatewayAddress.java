package dev.ambient.xds.client;

import static java.util.Objects.requireNonNull;

/** A waypoint or network gateway: where to dial, and the HBONE port to use there. */
public record GatewayAddress(Destination destination, int hboneMtlsPort) {
  /** Either a hostname (preferred, resolved to a service) or a network address. */
  public sealed interface Destination permits NamespacedHostname, NetworkAddress {}

  public GatewayAddress {
    requireNonNull(destination, "destination");
  }
}
