package dev.ambient.ztunnel.telemetry;

import dev.ambient.xds.client.Locality;
import dev.ambient.xds.client.Workload;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import org.jspecify.annotations.Nullable;

/**
 * The HBONE {@code baggage} header (spec §4.5): the outbound side describes the source workload,
 * the inbound side may answer with the destination workload. W3C baggage syntax: comma-separated
 * {@code key=value} members, values percent-encoded, optional {@code ;properties} ignored.
 *
 * <p>Keys used: {@code k8s.cluster.name}, {@code k8s.namespace.name}, {@code k8s.<type>.name}
 * (type = deployment, cronjob, pod, job), {@code service.name} (canonical name),
 * {@code service.version} (canonical revision), {@code cloud.region}, {@code cloud.availability_zone}.
 */
public final class Baggage {
  public static final String HEADER = "baggage";
  public static final String CLUSTER = "k8s.cluster.name";
  public static final String NAMESPACE = "k8s.namespace.name";
  public static final String SERVICE_NAME = "service.name";
  public static final String SERVICE_VERSION = "service.version";
  public static final String REGION = "cloud.region";
  public static final String ZONE = "cloud.availability_zone";

  /** W3C limits: 180 members, 8192 bytes. Longer headers are cut, never rejected. */
  static final int MAX_MEMBERS = 180;
  static final int MAX_LENGTH = 8192;

  private static final String[] WORKLOAD_NAME_KEYS = {
    "k8s.deployment.name", "k8s.cronjob.name", "k8s.pod.name", "k8s.job.name"
  };

  private Baggage() {}

  /** The header value describing {@code workload}; empty attributes are omitted. */
  public static String header(Workload workload) {
    StringBuilder sb = new StringBuilder(160);
    append(sb, CLUSTER, workload.clusterId());
    append(sb, NAMESPACE, workload.namespace());
    append(sb, "k8s." + workload.workloadType().name().toLowerCase(Locale.ROOT) + ".name", workload.workloadName());
    append(sb, SERVICE_NAME, workload.canonicalName());
    append(sb, SERVICE_VERSION, workload.canonicalRevision());
    Optional<Locality> locality = workload.locality();
    if (locality.isPresent()) {
      append(sb, REGION, locality.get().region());
      append(sb, ZONE, locality.get().zone());
    }
    return sb.toString();
  }

  /**
   * Parses a header value into its attributes (first occurrence of a key wins). Malformed members
   * are skipped; a missing or empty header gives an empty map. Never throws.
   */
  public static Map<String, String> parse(@Nullable CharSequence header) {
    if (header == null || header.isEmpty()) {
      return Map.of();
    }
    String s = header.length() > MAX_LENGTH ? header.subSequence(0, MAX_LENGTH).toString() : header.toString();
    Map<String, String> out = new LinkedHashMap<>();
    int members = 0;
    int start = 0;
    while (start <= s.length() && members < MAX_MEMBERS) {
      int comma = s.indexOf(',', start);
      int end = comma < 0 ? s.length() : comma;
      members++;
      member(s.substring(start, end), out);
      start = end + 1;
    }
    return out;
  }

  /** The workload name from any {@code k8s.<type>.name} key. */
  static Optional<String> workloadName(Map<String, String> attributes) {
    for (String key : WORKLOAD_NAME_KEYS) {
      String v = attributes.get(key);
      if (v != null && !v.isEmpty()) {
        return Optional.of(v);
      }
    }
    return Optional.empty();
  }

  private static void member(String member, Map<String, String> out) {
    int semi = member.indexOf(';');
    String kv = semi < 0 ? member : member.substring(0, semi);
    int eq = kv.indexOf('=');
    if (eq <= 0) {
      return;
    }
    String key = kv.substring(0, eq).strip();
    String value = kv.substring(eq + 1).strip();
    if (key.isEmpty() || !isToken(key)) {
      return;
    }
    String decoded = percentDecode(value);
    if (decoded != null && !decoded.isEmpty()) {
      out.putIfAbsent(key, decoded);
    }
  }

  private static void append(StringBuilder sb, String key, String value) {
    if (value.isEmpty()) {
      return;
    }
    if (!sb.isEmpty()) {
      sb.append(',');
    }
    sb.append(key).append('=');
    for (byte b : value.getBytes(StandardCharsets.UTF_8)) {
      int c = b & 0xff;
      if (isBaggageOctet(c)) {
        sb.append((char) c);
      } else {
        sb.append('%').append(Character.toUpperCase(Character.forDigit(c >> 4, 16)))
            .append(Character.toUpperCase(Character.forDigit(c & 0xf, 16)));
      }
    }
  }

  /** W3C baggage-octet minus {@code %} (which starts an escape). */
  private static boolean isBaggageOctet(int c) {
    return c == 0x21 || (c >= 0x23 && c <= 0x2b && c != 0x25) || (c >= 0x2d && c <= 0x3a)
        || (c >= 0x3c && c <= 0x5b) || (c >= 0x5d && c <= 0x7e);
  }

  /** RFC 7230 token characters. */
  private static boolean isToken(String key) {
    for (int i = 0; i < key.length(); i++) {
      char c = key.charAt(i);
      boolean ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
          || "!#$%&'*+-.^_`|~".indexOf(c) >= 0;
      if (!ok) {
        return false;
      }
    }
    return true;
  }

  /**
   * Decodes {@code %XX} escapes as UTF-8; returns null for a broken escape, raw non-ASCII or a
   * control character.
   */
  private static @Nullable String percentDecode(String value) {
    if (value.indexOf('%') < 0) {
      return isPrintableAscii(value) ? value : null;
    }
    ByteArrayOutputStream bytes = new ByteArrayOutputStream(value.length());
    for (int i = 0; i < value.length(); i++) {
      char c = value.charAt(i);
      if (c == '%') {
        if (i + 2 >= value.length()) {
          return null;
        }
        int hi = Character.digit(value.charAt(i + 1), 16);
        int lo = Character.digit(value.charAt(i + 2), 16);
        if (hi < 0 || lo < 0) {
          return null;
        }
        bytes.write(hi << 4 | lo);
        i += 2;
      } else if (c > 0x7e) {
        return null;
      } else {
        bytes.write(c);
      }
    }
    String decoded = bytes.toString(StandardCharsets.UTF_8);
    for (int i = 0; i < decoded.length(); i++) {
      char c = decoded.charAt(i);
      if (c < 0x20 || c == 0x7f) {
        return null;
      }
    }
    return decoded;
  }

  private static boolean isPrintableAscii(String s) {
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c < 0x20 || c > 0x7e) {
        return false;
      }
    }
    return true;
  }
}
