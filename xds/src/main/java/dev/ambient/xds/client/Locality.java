package dev.ambient.xds.client;

import static java.util.Objects.requireNonNull;

/** Topology of a workload, used for locality load balancing and telemetry. */
public record Locality(String region, String zone, String subzone) {
  public Locality {
    requireNonNull(region, "region");
    requireNonNull(zone, "zone");
    requireNonNull(subzone, "subzone");
  }
}
