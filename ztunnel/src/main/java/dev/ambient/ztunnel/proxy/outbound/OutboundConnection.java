package dev.ambient.ztunnel.proxy.outbound;

import static java.util.Objects.requireNonNull;

import java.net.InetSocketAddress;

/**
 * One live outbound connection, as the admin {@code config_dump} lists it (spec §5.1, §9.5).
 *
 * @param source the application's address
 * @param originalDestination where the application connected to
 * @param actualDestination the next hop (e.g. {@code <pod IP>:15008} for HBONE)
 * @param protocol how it is carried
 */
public record OutboundConnection(
    InetSocketAddress source,
    InetSocketAddress originalDestination,
    InetSocketAddress actualDestination,
    Protocol protocol) {

  public OutboundConnection {
    requireNonNull(source, "source");
    requireNonNull(originalDestination, "originalDestination");
    requireNonNull(actualDestination, "actualDestination");
    requireNonNull(protocol, "protocol");
  }

  /** The {@code protocol} field of the config dump. */
  public enum Protocol { TCP, HBONE, DOUBLEHBONE }
}
