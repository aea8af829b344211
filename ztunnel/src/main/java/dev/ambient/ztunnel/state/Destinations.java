package dev.ambient.ztunnel.state;

import dev.ambient.xds.client.Service;
import dev.ambient.xds.client.Workload;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.Optional;

/** Choosing the destination address of a workload (spec §5.5). */
public final class Destinations {
  private Destinations() {}

  /**
   * The socket to dial on {@code workload} at {@code port}: the original target IP if it is one of the
   * workload's IPs; else an IP allowed by the service's IP families, same family as the target first;
   * else, for a hostname workload, an <em>unresolved</em> address the connector resolves (§5.5 step
   * 3); else empty (reach it through its gateway, or {@code NoValidDestination}).
   */
  public static Optional<InetSocketAddress> choose(
      Workload workload, Optional<Service> service, InetAddress originalTarget, int port) {
    if (workload.addresses().contains(originalTarget)) {
      return Optional.of(new InetSocketAddress(originalTarget, port));
    }
    Service.IpFamilies families = service.map(Service::ipFamilies).orElse(Service.IpFamilies.AUTOMATIC);
    InetAddress firstAllowed = null;
    for (InetAddress ip : workload.addresses()) {
      if (!allowed(families, ip)) {
        continue;
      }
      if (sameFamily(ip, originalTarget)) {
        return Optional.of(new InetSocketAddress(ip, port));
      }
      if (firstAllowed == null) {
        firstAllowed = ip;
      }
    }
    if (firstAllowed != null) {
      return Optional.of(new InetSocketAddress(firstAllowed, port));
    }
    if (!workload.hostname().isEmpty()) {
      return Optional.of(InetSocketAddress.createUnresolved(workload.hostname(), port));
    }
    return Optional.empty();
  }

  private static boolean allowed(Service.IpFamilies families, InetAddress ip) {
    return switch (families) {
      case AUTOMATIC, DUAL -> true;
      case IPV4_ONLY -> ip instanceof Inet4Address;
      case IPV6_ONLY -> ip instanceof Inet6Address;
    };
  }

  private static boolean sameFamily(InetAddress a, InetAddress b) {
    return (a instanceof Inet4Address) == (b instanceof Inet4Address);
  }
}
