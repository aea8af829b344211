package dev.ambient.hbone;

import static java.util.Objects.requireNonNull;

import dev.ambient.identity.SpiffeId;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.Comparator;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * What makes two tunnels able to share one HBONE connection (spec §4.6): the same source identity,
 * the same set of acceptable destination identities, the same destination socket and the same
 * source IP. The identity list is kept sorted so that order does not split the pool.
 */
public record PoolKey(
    SpiffeId sourceIdentity,
    List<SpiffeId> expectedIdentities,
    InetSocketAddress destination,
    @Nullable InetAddress sourceIp) {

  public PoolKey {
    requireNonNull(sourceIdentity, "sourceIdentity");
    expectedIdentities = expectedIdentities.stream().distinct()
        .sorted(Comparator.comparing(SpiffeId::toString)).toList();
    if (expectedIdentities.isEmpty()) {
      throw new IllegalArgumentException("at least one expected destination identity is required");
    }
    requireNonNull(destination, "destination");
  }

  /** Log form: {@code src->dst[ids]@srcip}. */
  @Override
  public String toString() {
    return sourceIdentity + "->" + destination + expectedIdentities + (sourceIp == null ? "" : "@" + sourceIp.getHostAddress());
  }
}
