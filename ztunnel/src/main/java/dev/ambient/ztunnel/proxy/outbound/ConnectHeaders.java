package dev.ambient.ztunnel.proxy.outbound;

import dev.ambient.xds.client.Workload;
import java.net.Inet6Address;
import java.net.InetSocketAddress;
import java.util.HexFormat;
import java.util.Locale;
import java.util.Optional;
import java.util.StringJoiner;
import java.util.random.RandomGenerator;

/**
 * Values of the headers the outbound side puts on an HBONE CONNECT (spec §4.5). Pure functions.
 * The {@code baggage} encoder is local to this package until the telemetry package has one.
 */
final class ConnectHeaders {
  static final String BAGGAGE = "baggage";
  static final String FORWARDED = "forwarded";
  static final String TRACEPARENT = "traceparent";

  private ConnectHeaders() {}

  /**
   * The source workload's attributes: {@code k8s.cluster.name}, {@code k8s.namespace.name}, {@code
   * k8s.<type>.name}, {@code service.name}, {@code service.version}, {@code cloud.region}, {@code
   * cloud.availability_zone}; empty values are left out.
   */
  static String baggage(Workload w) {
    StringJoiner j = new StringJoiner(",");
    add(j, "k8s.cluster.name", w.clusterId());
    add(j, "k8s.namespace.name", w.namespace());
    add(j, "k8s." + w.workloadType().name().toLowerCase(Locale.ROOT) + ".name", w.workloadName());
    add(j, "service.name", w.canonicalName());
    add(j, "service.version", w.canonicalRevision());
    w.locality().ifPresent(l -> {
      add(j, "cloud.region", l.region());
      add(j, "cloud.availability_zone", l.zone());
    });
    return j.toString();
  }

  private static void add(StringJoiner j, String key, String value) {
    if (!value.isEmpty()) {
      j.add(key + "=" + value);
    }
  }

  /** {@code for="<ip:port>"} (IPv6 in brackets), plus {@code ;host=<hostname>} when the service is known. */
  static String forwarded(InetSocketAddress client, Optional<String> serviceHostname) {
    String ip = client.getAddress() == null ? client.getHostString() : client.getAddress().getHostAddress();
    if (client.getAddress() instanceof Inet6Address) {
      int zone = ip.indexOf('%');
      ip = "[" + (zone < 0 ? ip : ip.substring(0, zone)) + "]";
    }
    String value = "for=\"" + ip + ":" + client.getPort() + "\"";
    return serviceHostname.map(h -> value + ";host=" + h).orElse(value);
  }

  /** A W3C trace context {@code 00-<32 hex>-<16 hex>-00} with random, non-zero ids. */
  static String traceparent(RandomGenerator random) {
    byte[] trace = nonZero(random, 16);
    byte[] parent = nonZero(random, 8);
    HexFormat hex = HexFormat.of();
    return "00-" + hex.formatHex(trace) + "-" + hex.formatHex(parent) + "-00";
  }

  private static byte[] nonZero(RandomGenerator random, int n) {
    byte[] b = new byte[n];
    do {
      random.nextBytes(b);
    } while (isZero(b));
    return b;
  }

  private static boolean isZero(byte[] b) {
    for (byte x : b) {
      if (x != 0) {
        return false;
      }
    }
    return true;
  }
}
