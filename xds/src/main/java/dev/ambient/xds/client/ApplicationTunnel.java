package dev.ambient.xds.client;

import static java.util.Objects.requireNonNull;

/** The destination consumes tunnel metadata (sandwiched waypoints); {@code port} 0 = the requested port. */
public record ApplicationTunnel(Protocol protocol, int port) {
  /** NONE copies bytes as-is; PROXY prepends a PROXY v2 header. */
  public enum Protocol { NONE, PROXY }

  public ApplicationTunnel {
    requireNonNull(protocol, "protocol");
  }
}
