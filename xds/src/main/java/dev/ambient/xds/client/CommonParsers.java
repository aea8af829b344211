package dev.ambient.xds.client;

import com.google.protobuf.ByteString;
import dev.ambient.xds.api.workload.NamespacedHostname;
import java.net.InetAddress;
import java.net.UnknownHostException;

/** Conversions shared by the workload and service parsers. */
final class CommonParsers {
  private CommonParsers() {}

  /** A 4- or 16-byte IP; any other length rejects the resource. */
  static InetAddress ip(ByteString bytes) throws ResourceInvalidException {
    int n = bytes.size();
    if (n != 4 && n != 16) {
      throw new ResourceInvalidException("invalid IP address length " + n + " (want 4 or 16)");
    }
    try {
      return InetAddress.getByAddress(bytes.toByteArray());
    } catch (UnknownHostException e) {
      throw new ResourceInvalidException("invalid IP address: " + e.getMessage());
    }
  }

  /**
   * One shared instance of a string that many resources repeat (namespace, service account, node, canonical
   * name, service keys, policy names...). Decoding gives every message its own copies; at 10,000 workloads those
   * copies were most of the client's heap ({@code ./ambient bench xds}). Interned strings are still collected
   * once nothing refers to them.
   */
  static String shared(String s) {
    return s.isEmpty() ? "" : s.intern();
  }

  /** Truncates a proto uint32 port to 16 bits, as ztunnel does. */
  static int u16(int value) {
    return value & 0xFFFF;
  }

  static NetworkAddress networkAddress(dev.ambient.xds.api.workload.NetworkAddress proto)
      throws ResourceInvalidException {
    InetAddress ip = ip(proto.getAddress());
    int max = NetworkAddress.maxPrefix(ip);
    int length = proto.hasLength() ? prefix(proto.getAddress().size(), ip, proto.getLength()) : max;
    if (length < 0 || length > max) {
      throw new ResourceInvalidException(
          "invalid prefix length " + Integer.toUnsignedString(proto.getLength()) + " for " + ip.getHostAddress());
    }
    return new NetworkAddress(proto.getNetwork(), ip, length);
  }

  /**
   * The prefix length for {@code ip} of a length given for {@code rawSize} address bytes, or -1.
   * Addresses are canonicalised (spec §5.0): an IPv4-mapped IPv6 address ({@code ::ffff:a.b.c.d},
   * 16 bytes) is the IPv4 address, so a prefix given for its 128 bits loses the 96 mapped ones.
   */
  static int prefix(int rawSize, InetAddress ip, int length) {
    if (rawSize == 16 && ip.getAddress().length == 4) {
      return length >= 96 && length <= 128 ? length - 96 : -1;
    }
    return length;
  }

  static GatewayAddress gatewayAddress(dev.ambient.xds.api.workload.GatewayAddress proto)
      throws ResourceInvalidException {
    GatewayAddress.Destination destination = switch (proto.getDestinationCase()) {
      case HOSTNAME -> {
        NamespacedHostname h = proto.getHostname();
        yield new dev.ambient.xds.client.NamespacedHostname(h.getNamespace(), h.getHostname());
      }
      case ADDRESS -> networkAddress(proto.getAddress());
      case DESTINATION_NOT_SET -> throw new ResourceInvalidException("nonempty gateway address is missing address");
    };
    return new GatewayAddress(destination, u16(proto.getHboneMtlsPort()));
  }

  static Port port(dev.ambient.xds.api.workload.Port proto) {
    return new Port(u16(proto.getServicePort()), u16(proto.getTargetPort()));
  }
}
