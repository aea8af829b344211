package dev.ambient.xds.client;

import static java.util.Objects.requireNonNull;

/** One of a service's waypoints chosen per connection by weight (0 = never chosen). */
public record WeightedWaypoint(GatewayAddress destination, int weight) {
  public WeightedWaypoint {
    requireNonNull(destination, "destination");
  }
}
