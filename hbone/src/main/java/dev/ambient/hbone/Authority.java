package dev.ambient.hbone;

import static java.util.Objects.requireNonNull;

import io.netty.util.NetUtil;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.Optional;
import org.jspecify.annotations.Nullable;

/**
 * The {@code :authority} of an HBONE CONNECT: {@code IP:port} (IPv6 in brackets) or
 * {@code host:port}; the port is mandatory (spec §4.5 step 2).
 *
 * @param host the IP literal (without brackets) or host name
 * @param port 1..65535
 * @param address the parsed address when {@code host} is an IP literal, else null
 */
public record Authority(String host, int port, @Nullable InetAddress address) {
  public Authority {
    requireNonNull(host, "host");
    if (port < 1 || port > 65535) {
      throw new IllegalArgumentException("port " + port + " is out of range");
    }
  }

  public static Authority of(InetSocketAddress target) {
    return new Authority(NetUtil.toAddressString(target.getAddress()), target.getPort(), target.getAddress());
  }

  /** Parses an authority, or returns empty when it is not {@code IP:port} or {@code host:port}. */
  public static Optional<Authority> parse(@Nullable CharSequence value) {
    if (value == null || value.isEmpty()) {
      return Optional.empty();
    }
    String s = value.toString();
    String host;
    String portText;
    if (s.startsWith("[")) {
      int close = s.indexOf(']');
      if (close < 0 || close + 1 >= s.length() || s.charAt(close + 1) != ':') {
        return Optional.empty();
      }
      host = s.substring(1, close);
      portText = s.substring(close + 2);
      if (!NetUtil.isValidIpV6Address(host)) {
        return Optional.empty();
      }
    } else {
      int colon = s.lastIndexOf(':');
      if (colon <= 0 || s.indexOf(':') != colon) {
        return Optional.empty(); // no port, or an unbracketed IPv6 literal
      }
      host = s.substring(0, colon);
      portText = s.substring(colon + 1);
    }
    int port = parsePort(portText);
    if (port < 0) {
      return Optional.empty();
    }
    byte[] ip = NetUtil.createByteArrayFromIpAddressString(host);
    if (ip != null) {
      try {
        InetAddress addr = InetAddress.getByAddress(ip);
        return Optional.of(new Authority(NetUtil.toAddressString(addr), port, addr));
      } catch (UnknownHostException e) {
        return Optional.empty();
      }
    }
    return isHostName(host) ? Optional.of(new Authority(host, port, null)) : Optional.empty();
  }

  public boolean isIp() {
    return address != null;
  }

  /** The target socket address; only for IP authorities. */
  public Optional<InetSocketAddress> socketAddress() {
    return address == null ? Optional.empty() : Optional.of(new InetSocketAddress(address, port));
  }

  @Override
  public String toString() {
    return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + port;
  }

  private static int parsePort(String text) {
    if (text.isEmpty() || text.length() > 5) {
      return -1;
    }
    int port = 0;
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      if (c < '0' || c > '9') {
        return -1;
      }
      port = port * 10 + (c - '0');
    }
    return port >= 1 && port <= 65535 ? port : -1;
  }

  /** RFC 1123 host names: dot-separated labels of letters, digits and hyphens. */
  private static boolean isHostName(String host) {
    if (host.isEmpty() || host.length() > 253) {
      return false;
    }
    for (String label : host.split("\\.", -1)) {
      if (label.isEmpty() || label.length() > 63 || label.startsWith("-") || label.endsWith("-")) {
        return false;
      }
      for (int i = 0; i < label.length(); i++) {
        char c = label.charAt(i);
        if (!(Character.isLetterOrDigit(c) && c < 128) && c != '-' && c != '_') {
          return false;
        }
      }
    }
    return true;
  }
}
