package dev.ambient.ztunnel.telemetry;

import static dev.ambient.ztunnel.telemetry.TrafficLabels.DESTINATION_CLUSTER;
import static dev.ambient.ztunnel.telemetry.TrafficLabels.DESTINATION_NAMESPACE;
import static dev.ambient.ztunnel.telemetry.TrafficLabels.DESTINATION_PRINCIPAL;
import static dev.ambient.ztunnel.telemetry.TrafficLabels.DESTINATION_SERVICE;
import static dev.ambient.ztunnel.telemetry.TrafficLabels.SOURCE_CANONICAL_SERVICE;
import static dev.ambient.ztunnel.telemetry.TrafficLabels.SOURCE_CLUSTER;
import static dev.ambient.ztunnel.telemetry.TrafficLabels.SOURCE_NAMESPACE;
import static dev.ambient.ztunnel.telemetry.TrafficLabels.SOURCE_PRINCIPAL;
import static java.util.Objects.requireNonNull;

import dev.ambient.xds.client.Workload;
import io.netty.util.NetUtil;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.jspecify.annotations.Nullable;

/**
 * The fields of the {@code access} log events (spec §9.3) and their two renderings. Pure: facts in,
 * text out. Fields whose value is unknown are left out, as ztunnel does.
 */
final class AccessLogFields {
  static final String OPENED = "connection opened";
  static final String COMPLETE = "connection complete";
  static final String FAILED = "connection failed";

  /** How a value is written in the plain format: strings quoted, addresses and numbers bare. */
  enum Kind { ADDRESS, STRING, NUMBER }

  record Field(String key, String value, Kind kind) {
    Field {
      requireNonNull(key, "key");
      requireNonNull(value, "value");
      requireNonNull(kind, "kind");
    }
  }

  private AccessLogFields() {}

  /** {@code connection opened}: who talks to whom. */
  static List<Field> opened(ConnectionFacts facts, TrafficLabels labels) {
    List<Field> out = new ArrayList<>(14);
    endpoints(out, facts, labels);
    out.add(new Field("direction", facts.reporter().direction(), Kind.STRING));
    return out;
  }

  /**
   * {@code connection complete}: as opened plus bytes (flipped for inbound: what this proxy sent
   * and received over the mesh hop), duration and the error, if any.
   */
  static List<Field> complete(ConnectionFacts facts, TrafficLabels labels, long clientToServer,
      long serverToClient, long durationMillis, @Nullable String error) {
    List<Field> out = opened(facts, labels);
    boolean outbound = facts.reporter() == Reporter.SOURCE;
    out.add(number("bytes_sent", outbound ? clientToServer : serverToClient));
    out.add(number("bytes_recv", outbound ? serverToClient : clientToServer));
    out.add(new Field("duration", Math.max(0, durationMillis) + "ms", Kind.STRING));
    if (error != null) {
      out.add(new Field("error", error, Kind.STRING));
    }
    return out;
  }

  /** {@code connection failed}: an early deny, before any context exists. */
  static List<Field> failed(Reporter reporter, InetSocketAddress source, InetSocketAddress destination, String error) {
    return List.of(
        address("src.addr", source),
        address("dst.addr", destination),
        new Field("direction", reporter.direction(), Kind.STRING),
        new Field("error", error, Kind.STRING));
  }

  /** {@code <message>\t<k=v …>}; strings quoted and escaped, addresses and numbers bare. */
  static String plain(String message, List<Field> fields) {
    StringBuilder sb = new StringBuilder(64 + fields.size() * 32).append(message);
    char sep = '\t';
    for (Field f : fields) {
      sb.append(sep).append(f.key()).append('=');
      sep = ' ';
      if (f.kind() == Kind.STRING) {
        quote(sb, f.value());
      } else {
        sb.append(f.value());
      }
    }
    return sb.toString();
  }

  /** A JSON object: {@code message} then the fields; numbers as numbers, everything else strings. */
  static String json(String message, List<Field> fields) {
    StringBuilder sb = new StringBuilder(64 + fields.size() * 36).append("{\"message\":");
    jsonString(sb, message);
    for (Field f : fields) {
      sb.append(',');
      jsonString(sb, f.key());
      sb.append(':');
      if (f.kind() == Kind.NUMBER) {
        sb.append(f.value());
      } else {
        jsonString(sb, f.value());
      }
    }
    return sb.append('}').toString();
  }

  private static void endpoints(List<Field> out, ConnectionFacts facts, TrafficLabels labels) {
    boolean mtls = facts.securityPolicy() == SecurityPolicy.MUTUAL_TLS;
    out.add(address("src.addr", facts.source()));
    optional(out, "src.workload", podName(facts.sourceWorkload()).or(() -> labels.find(SOURCE_CANONICAL_SERVICE)));
    optional(out, "src.namespace", labels.find(SOURCE_NAMESPACE));
    if (mtls) {
      optional(out, "src.identity", labels.find(SOURCE_PRINCIPAL));
    }
    optional(out, "src.cluster", labels.find(SOURCE_CLUSTER));
    out.add(address("dst.addr", facts.destination()));
    facts.hboneAuthority().ifPresent(a -> out.add(new Field("dst.hbone_addr", a, Kind.ADDRESS)));
    optional(out, "dst.service", labels.find(DESTINATION_SERVICE));
    optional(out, "dst.workload", podName(facts.destinationWorkload()));
    optional(out, "dst.namespace", labels.find(DESTINATION_NAMESPACE));
    if (mtls) {
      optional(out, "dst.identity", labels.find(DESTINATION_PRINCIPAL));
    }
    optional(out, "dst.cluster", labels.find(DESTINATION_CLUSTER));
  }

  /** The pod name, else the canonical service. */
  private static Optional<String> podName(Optional<Workload> workload) {
    return workload.map(w -> w.name().isEmpty() ? w.canonicalName() : w.name()).filter(s -> !s.isEmpty());
  }

  private static void optional(List<Field> out, String key, Optional<String> value) {
    value.ifPresent(v -> out.add(new Field(key, v, Kind.STRING)));
  }

  private static Field address(String key, InetSocketAddress address) {
    String text = address.getAddress() != null
        ? NetUtil.toSocketAddressString(address)
        : address.getHostString() + ":" + address.getPort();
    return new Field(key, text, Kind.ADDRESS);
  }

  private static Field number(String key, long value) {
    return new Field(key, Long.toString(Math.max(0, value)), Kind.NUMBER);
  }

  /**
   * Quotes like ztunnel's plain format (Rust debug strings): quote, backslash, newline, return and
   * tab are backslash-escaped; other control characters become a backslash, {@code u} and the hex
   * code in braces.
   */
  private static void quote(StringBuilder sb, String s) {
    sb.append('"');
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '"' -> sb.append("\\\"");
        case '\\' -> sb.append("\\\\");
        case '\n' -> sb.append("\\n");
        case '\r' -> sb.append("\\r");
        case '\t' -> sb.append("\\t");
        default -> {
          if (c < 0x20 || c == 0x7f) {
            sb.append("\\u{").append(Integer.toHexString(c)).append('}');
          } else {
            sb.append(c);
          }
        }
      }
    }
    sb.append('"');
  }

  private static void jsonString(StringBuilder sb, String s) {
    sb.append('"');
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '"' -> sb.append("\\\"");
        case '\\' -> sb.append("\\\\");
        case '\n' -> sb.append("\\n");
        case '\r' -> sb.append("\\r");
        case '\t' -> sb.append("\\t");
        default -> {
          if (c < 0x20 || c == 0x7f || c == 0x2028 || c == 0x2029) {
            sb.append(String.format("\\u%04x", (int) c));
          } else {
            sb.append(c);
          }
        }
      }
    }
    sb.append('"');
  }
}
