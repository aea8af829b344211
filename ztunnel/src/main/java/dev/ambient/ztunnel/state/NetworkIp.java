package dev.ambient.ztunnel.state;

import static java.util.Objects.requireNonNull;

import java.net.InetAddress;

/** The address index key: an IP on a network ({@code ""} is the default network). */
public record NetworkIp(String network, InetAddress address) {
  public NetworkIp {
    requireNonNull(network, "network");
    requireNonNull(address, "address");
  }

  /** {@code network/ip}, the spec's alias key format. */
  @Override
  public String toString() {
    return network + "/" + address.getHostAddress();
  }
}
