package dev.ambient.ztunnel.state;

import static java.util.Objects.requireNonNull;

import dev.ambient.xds.client.NetworkAddress;
import java.net.InetAddress;

/** A CIDR VIP of the service {@code serviceKey}. */
record CidrVip(NetworkAddress range, String serviceKey) {
  CidrVip {
    requireNonNull(range, "range");
    requireNonNull(serviceKey, "serviceKey");
  }

  /** Whether {@code ip} on {@code network} falls in the range (same family only). */
  boolean contains(String network, InetAddress ip) {
    if (!range.network().equals(network)) {
      return false;
    }
    byte[] a = range.address().getAddress();
    byte[] b = ip.getAddress();
    if (a.length != b.length) {
      return false;
    }
    int bits = range.prefixLength();
    int full = bits / 8;
    for (int i = 0; i < full; i++) {
      if (a[i] != b[i]) {
        return false;
      }
    }
    int rest = bits % 8;
    if (rest == 0) {
      return true;
    }
    int mask = (0xFF << (8 - rest)) & 0xFF;
    return (a[full] & mask) == (b[full] & mask);
  }
}
