package dev.ambient.xds.config;

import com.google.protobuf.ByteString;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.util.Optional;

/**
 * Parses IP address and CIDR literals without ever resolving names.
 *
 * <p>IPv4 must be a strict dotted quad (no leading zeros, as Go's {@code netip} wants); IPv6 is any RFC 4291
 * text form without brackets or zone. An IPv4-mapped IPv6 literal stays 16 bytes long.
 */
final class IpLiterals {
  private IpLiterals() {}

  /** The 4 or 16 address bytes. */
  static byte[] parse(String text) {
    if (text.indexOf(':') >= 0) {
      if (text.indexOf('%') >= 0 || text.indexOf('[') >= 0) {
        throw new IllegalArgumentException("'" + text + "' is not an IP address literal (no brackets or zones)");
      }
      InetAddress a;
      try {
        a = Inet6Address.ofLiteral(text);
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("'" + text + "' is not an IPv6 address literal");
      }
      byte[] b = a.getAddress();
      if (b.length == 4) { // IPv4-mapped: Java hands back the IPv4 address
        byte[] mapped = new byte[16];
        mapped[10] = (byte) 0xff;
        mapped[11] = (byte) 0xff;
        System.arraycopy(b, 0, mapped, 12, 4);
        return mapped;
      }
      return b;
    }
    return parseV4(text);
  }

  private static byte[] parseV4(String text) {
    String[] parts = text.split("\\.", -1);
    if (parts.length != 4) {
      throw new IllegalArgumentException("'" + text + "' is not an IP address literal");
    }
    byte[] b = new byte[4];
    for (int i = 0; i < 4; i++) {
      String p = parts[i];
      if (p.isEmpty() || p.length() > 3 || (p.length() > 1 && p.charAt(0) == '0') || !p.chars().allMatch(c -> c >= '0' && c <= '9')) {
        throw new IllegalArgumentException("'" + text + "' is not an IP address literal");
      }
      int v = Integer.parseInt(p);
      if (v > 255) {
        throw new IllegalArgumentException("'" + text + "' is not an IP address literal (octet " + v + " > 255)");
      }
      b[i] = (byte) v;
    }
    return b;
  }

  static ByteString parseBytes(String text) {
    return ByteString.copyFrom(parse(text));
  }

  /** An address with its prefix length; a bare IP gets the full length (32 or 128). */
  record Cidr(byte[] address, int length) {
    static Cidr parse(String text) {
      int slash = text.indexOf('/');
      if (slash < 0) {
        byte[] a = IpLiterals.parse(text);
        return new Cidr(a, a.length * 8);
      }
      byte[] a = IpLiterals.parse(text.substring(0, slash));
      String len = text.substring(slash + 1);
      int max = a.length * 8;
      int n;
      try {
        n = len.isEmpty() || len.length() > 3 || !len.chars().allMatch(c -> c >= '0' && c <= '9') ? -1 : Integer.parseInt(len);
      } catch (NumberFormatException e) {
        n = -1;
      }
      if (n < 0 || n > max) {
        throw new IllegalArgumentException("'" + text + "' has a bad prefix length (0 to " + max + ")");
      }
      return new Cidr(a, n);
    }

    /** istiod's lenient form: unparsable entries are dropped. */
    static Optional<Cidr> tryParse(String text) {
      try {
        return Optional.of(parse(text));
      } catch (IllegalArgumentException e) {
        return Optional.empty();
      }
    }

    dev.ambient.xds.api.security.Address toProto() {
      return dev.ambient.xds.api.security.Address.newBuilder()
          .setAddress(ByteString.copyFrom(address)).setLength(length).build();
    }
  }

  /** True when {@code text} parses as an IP literal. */
  static boolean isLiteral(String text) {
    try {
      parse(text);
      return true;
    } catch (IllegalArgumentException e) {
      return false;
    }
  }

  /** The canonical text form: dotted quad, or RFC 5952 IPv6 (what istiod and ztunnel print). */
  static String format(ByteString bytes) {
    byte[] b = bytes.toByteArray();
    if (b.length == 4) {
      return (b[0] & 0xff) + "." + (b[1] & 0xff) + "." + (b[2] & 0xff) + "." + (b[3] & 0xff);
    }
    if (b.length != 16) {
      throw new IllegalArgumentException("bad address length " + b.length);
    }
    int[] groups = new int[8];
    for (int i = 0; i < 8; i++) {
      groups[i] = ((b[2 * i] & 0xff) << 8) | (b[2 * i + 1] & 0xff);
    }
    int bestStart = -1;
    int bestLen = 1; // a single zero group is not compressed
    for (int i = 0; i < 8; ) {
      if (groups[i] != 0) {
        i++;
        continue;
      }
      int j = i;
      while (j < 8 && groups[j] == 0) {
        j++;
      }
      if (j - i > bestLen) {
        bestStart = i;
        bestLen = j - i;
      }
      i = j;
    }
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < 8; i++) {
      if (i == bestStart) {
        sb.append("::");
        i += bestLen - 1;
        continue;
      }
      if (!sb.isEmpty() && sb.charAt(sb.length() - 1) != ':') {
        sb.append(':');
      }
      sb.append(Integer.toHexString(groups[i]));
    }
    return sb.toString();
  }


}
