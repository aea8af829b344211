package dev.ambient.xds.client;

import static java.util.Objects.requireNonNull;

import java.util.List;

/** A service's endpoint selection policy. */
public record LoadBalancing(List<Scope> routingPreference, Mode mode, HealthPolicy healthPolicy) {
  /** A topology dimension endpoints should share with the client, most important first. */
  public enum Scope { REGION, ZONE, SUBZONE, NODE, CLUSTER, NETWORK }

  /** How the preferences are used; {@code STANDARD} is the proto's UNSPECIFIED_MODE (preferences ignored). */
  public enum Mode { STANDARD, STRICT, FAILOVER, PASSTHROUGH }

  /** Whether unhealthy endpoints are eligible. */
  public enum HealthPolicy { ONLY_HEALTHY, ALLOW_ALL }

  public LoadBalancing {
    routingPreference = List.copyOf(routingPreference);
    requireNonNull(mode, "mode");
    requireNonNull(healthPolicy, "healthPolicy");
  }
}
