package dev.ambient.xds.client;

import static java.util.Objects.requireNonNull;

import java.net.Inet4Address;
import java.net.InetAddress;

/**
 * An IP on a network, or a CIDR range when {@code prefixLength} is shorter than the address
 * (32 for IPv4, 128 for IPv6). The lookup key is {@code network/ip}.
 */
public record NetworkAddress(String network, InetAddress address, int prefixLength)
    implements GatewayAddress.Destination {
  public NetworkAddress {
    requireNonNull(network, "network");
    requireNonNull(address, "address");
    if (prefixLength < 0 || prefixLength > maxPrefix(address)) {
      throw new IllegalArgumentException("prefix length " + prefixLength + " out of range for " + address);
    }
  }

  /** A host address (full prefix). */
  public static NetworkAddress host(String network, InetAddress address) {
    return new NetworkAddress(network, address, maxPrefix(address));
  }

  /** Whether this is a CIDR range rather than one host. */
  public boolean isCidr() {
    return prefixLength != maxPrefix(address);
  }

  /** {@code network/ip}, the on-demand and alias key format. */
  public String key() {
    return network + "/" + address.getHostAddress();
  }

  static int maxPrefix(InetAddress address) {
    return address instanceof Inet4Address ? 32 : 128;
  }
}
