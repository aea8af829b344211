package dev.ambient.ztunnel.proxy.inbound;

import dev.ambient.xds.client.Workload;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * The W3C {@code baggage} header as ztunnel uses it (spec §4.5): comma-separated {@code key=value}
 * workload attributes. Parsing is lenient (malformed members are skipped, never an error).
 */
final class Baggage {
  static final String CLUSTER = "k8s.cluster.name";
  static final String NAMESPACE = "k8s.namespace.name";
  static final String SERVICE_NAME = "service.name";
  static final String SERVICE_VERSION = "service.version";
  static final String REGION = "cloud.region";
  static final String ZONE = "cloud.availability_zone";

  private Baggage() {}

  /** The members of {@code header}; member properties ({@code ;...}) are dropped; first key wins. */
  static Map<String, String> parse(String header) {
    Map<String, String> out = new LinkedHashMap<>();
    for (String member : header.split(",")) {
      int semi = member.indexOf(';');
      String kv = semi < 0 ? member : member.substring(0, semi);
      int eq = kv.indexOf('=');
      if (eq <= 0) {
        continue;
      }
      String key = kv.substring(0, eq).trim();
      String value = kv.substring(eq + 1).trim();
      if (!key.isEmpty() && !value.isEmpty()) {
        out.putIfAbsent(key, value);
      }
    }
    return out;
  }

  /** The baggage describing {@code w}; empty attributes are omitted. */
  static String of(Workload w) {
    StringBuilder b = new StringBuilder();
    append(b, CLUSTER, w.clusterId());
    append(b, NAMESPACE, w.namespace());
    append(b, "k8s." + w.workloadType().name().toLowerCase(Locale.ROOT) + ".name", w.workloadName());
    append(b, SERVICE_NAME, w.canonicalName());
    append(b, SERVICE_VERSION, w.canonicalRevision());
    w.locality().ifPresent(l -> {
      append(b, REGION, l.region());
      append(b, ZONE, l.zone());
    });
    return b.toString();
  }

  private static void append(StringBuilder b, String key, String value) {
    if (value.isEmpty()) {
      return;
    }
    if (!b.isEmpty()) {
      b.append(',');
    }
    b.append(key).append('=').append(value);
  }
}
