package dev.ambient.cni.agent.rules;

import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.util.List;

/** The pod's IP addresses; IPv6 rules are installed only when there is an IPv6 address. */
public record PodAddresses(List<InetAddress> addresses) {
  public PodAddresses {
    addresses = List.copyOf(addresses);
  }

  public static PodAddresses of(InetAddress... addresses) {
    return new PodAddresses(List.of(addresses));
  }

  public boolean hasIpv4() {
    return addresses.stream().anyMatch(a -> a instanceof Inet4Address);
  }

  public boolean hasIpv6() {
    return addresses.stream().anyMatch(a -> a instanceof Inet6Address);
  }

  /** The families to program: IPv4 always (the upstream agent does too), IPv6 when the pod has one. */
  List<Family> families() {
    return hasIpv6() ? List.of(Family.V4, Family.V6) : List.of(Family.V4);
  }
}
