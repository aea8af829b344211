package dev.ambient.ztunnel.proxy.outbound;

import java.net.Inet6Address;
import java.net.InetSocketAddress;
import java.util.HexFormat;
import java.util.Optional;
import java.util.random.RandomGenerator;

/**
 * Values of the headers the outbound side puts on an HBONE CONNECT (spec §4.5). Pure functions.
 * ({@code baggage} is {@link dev.ambient.ztunnel.telemetry.Baggage#header}.)
 */
final class ConnectHeaders {
  static final String FORWARDED = "forwarded";
  static final String TRACEPARENT = "traceparent";
  /** Source network on the inner CONNECT of double HBONE (spec §4.5). */
  static final String X_FORWARDED_NETWORK = "x-forwarded-network";

  private ConnectHeaders() {}

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
