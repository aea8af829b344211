package dev.ambient.xds.config;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.google.protobuf.ByteString;
import com.google.protobuf.Empty;
import dev.ambient.xds.api.security.StringMatch;
import dev.ambient.xds.api.workload.GatewayAddress;
import dev.ambient.xds.api.workload.NamespacedHostname;
import dev.ambient.xds.api.workload.NetworkAddress;
import java.util.Map;

/**
 * Scalar value types of the local-config YAML. Each parses itself in a {@link JsonCreator}, so a bad value is
 * reported by Jackson at the line and column of that value. (Classes, not records: Jackson would otherwise
 * introspect the protobuf types of record components.)
 */
final class YamlValues {
  private YamlValues() {}

  /** An IP address literal (never a host name). */
  static final class Ip {
    private final ByteString bytes;

    private Ip(ByteString bytes) {
      this.bytes = bytes;
    }

    ByteString bytes() {
      return bytes;
    }
    @JsonCreator(mode = JsonCreator.Mode.DELEGATING)
    static Ip of(String text) {
      return new Ip(IpLiterals.parseBytes(text));
    }
  }

  /** An IP with an optional prefix length, e.g. {@code 198.18.0.0/15}. */
  static final class Cidr {
    private final IpLiterals.Cidr cidr;

    private Cidr(IpLiterals.Cidr cidr) {
      this.cidr = cidr;
    }

    IpLiterals.Cidr cidr() {
      return cidr;
    }
    @JsonCreator(mode = JsonCreator.Mode.DELEGATING)
    static Cidr of(String text) {
      return new Cidr(IpLiterals.Cidr.parse(text));
    }
  }

  /** {@code <network>/<ip>} (the network may be empty). */
  static final class NetworkIp {
    private final NetworkAddress address;

    private NetworkIp(NetworkAddress address) {
      this.address = address;
    }

    NetworkAddress address() {
      return address;
    }
    @JsonCreator(mode = JsonCreator.Mode.DELEGATING)
    static NetworkIp of(String text) {
      int slash = text.indexOf('/');
      if (slash < 0) {
        throw new IllegalArgumentException("'" + text + "' must be <network>/<ip> (the network may be empty: \"/198.18.0.1\")");
      }
      return new NetworkIp(NetworkAddress.newBuilder().setNetwork(text.substring(0, slash))
          .setAddress(IpLiterals.parseBytes(text.substring(slash + 1))).build());
    }
  }

  /**
   * A gateway destination: {@code <network>/<ip>} when the part after the first slash is an IP literal,
   * otherwise {@code <namespace>/<hostname>}.
   */
  static final class Destination {
    private final GatewayAddress.Builder partial;

    private Destination(GatewayAddress.Builder partial) {
      this.partial = partial;
    }

    GatewayAddress.Builder partial() {
      return partial;
    }
    @JsonCreator(mode = JsonCreator.Mode.DELEGATING)
    static Destination of(String text) {
      int slash = text.indexOf('/');
      if (slash < 0 || slash == text.length() - 1) {
        throw new IllegalArgumentException("'" + text + "' must be <network>/<ip> or <namespace>/<hostname>");
      }
      String head = text.substring(0, slash);
      String tail = text.substring(slash + 1);
      if (IpLiterals.isLiteral(tail)) {
        return new Destination(GatewayAddress.newBuilder().setAddress(
            NetworkAddress.newBuilder().setNetwork(head).setAddress(IpLiterals.parseBytes(tail))));
      }
      if (head.isEmpty() || tail.contains("/")) {
        throw new IllegalArgumentException("'" + text + "' must be <network>/<ip> or <namespace>/<hostname>");
      }
      return new Destination(GatewayAddress.newBuilder().setHostname(
          NamespacedHostname.newBuilder().setNamespace(head).setHostname(tail)));
    }
  }

  /** ztunnel's serde form of a StringMatch: {@code {Exact: x}}, {@code {Prefix: x}}, {@code {Suffix: x}} or {@code Presence}. */
  static final class Match {
    private final StringMatch match;

    private Match(StringMatch match) {
      this.match = match;
    }

    StringMatch match() {
      return match;
    }
    @JsonCreator(mode = JsonCreator.Mode.DELEGATING)
    static Match of(Object node) {
      if ("Presence".equals(node)) {
        return new Match(StringMatch.newBuilder().setPresence(Empty.getDefaultInstance()).build());
      }
      if (node instanceof Map<?, ?> map && map.size() == 1) {
        Map.Entry<?, ?> e = map.entrySet().iterator().next();
        if (e.getValue() instanceof String v) {
          StringMatch.Builder b = StringMatch.newBuilder();
          switch (String.valueOf(e.getKey())) {
            case "Exact" -> b.setExact(v);
            case "Prefix" -> b.setPrefix(v);
            case "Suffix" -> b.setSuffix(v);
            default -> throw badMatch();
          }
          return new Match(b.build());
        }
      }
      throw badMatch();
    }

    private static IllegalArgumentException badMatch() {
      return new IllegalArgumentException("a string match must be {Exact: x}, {Prefix: x}, {Suffix: x} or Presence");
    }

  }
}
