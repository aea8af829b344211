package dev.ambient.xds.client;

import static java.util.Objects.requireNonNull;

import com.google.gson.JsonElement;
import com.google.gson.JsonParser;
import com.google.gson.JsonParseException;
import com.google.protobuf.ListValue;
import com.google.protobuf.NullValue;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import dev.ambient.xds.api.discovery.Node;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@code Node} ztunnel presents to istiod (spec §2.3). istiod classifies the proxy by the
 * leading {@code ztunnel} token of the id, so the format is fixed.
 *
 * @param id {@code ztunnel~<ip>~<pod>.<ns>~<ns>.svc.cluster.local}
 * @param metadata NAME, NAMESPACE, INSTANCE_IPS, NODE_NAME, then the proxy metadata (mesh config and
 *     {@code PROXY_CONFIG} {@code proxyMetadata}, overridden by ISTIO_META_*, prefix stripped) and
 *     ISTIO_METAJSON_* (parsed) entries; see {@link #of}
 */
public record NodeInfo(String id, Struct metadata) {
  private static final Logger log = LoggerFactory.getLogger(NodeInfo.class);
  static final String DEFAULT_INSTANCE_IP = "1.1.1.1";
  private static final String META_PREFIX = "ISTIO_META_";
  private static final String META_JSON_PREFIX = "ISTIO_METAJSON_";

  public NodeInfo {
    requireNonNull(id, "id");
    requireNonNull(metadata, "metadata");
  }

  /**
   * Builds the node from environment variables alone: {@link #of(Map, Map)} without proxy metadata.
   * Pure.
   */
  public static NodeInfo fromEnvironment(Map<String, String> env) {
    return of(env, Map.of());
  }

  /**
   * Builds the node exactly as ztunnel's xDS client does (spec §2.3, §3.2; upstream
   * {@code construct_proxy_config} and {@code xds::Config::node}). Pure.
   *
   * <ol>
   *   <li>{@code NAME}, {@code NAMESPACE}, {@code INSTANCE_IPS}, {@code NODE_NAME} from {@code POD_NAME},
   *       {@code POD_NAMESPACE}, {@code INSTANCE_IP} (default 1.1.1.1), {@code NODE_NAME} (default "");</li>
   *   <li>then, as string values and replacing those four where a key collides, the proxy metadata map:
   *       {@code proxyMetadata} (mesh config {@code defaultConfig}, then {@code PROXY_CONFIG}; keys with
   *       {@code ISTIO_META_} stripped by {@link #stripMetaPrefix}, keys without it kept as they are),
   *       overridden by every {@code ISTIO_META_<K>} environment variable as key {@code K};</li>
   *   <li>then every {@code ISTIO_METAJSON_<K>} variable whose value is JSON, as key {@code K} with the
   *       JSON as a protobuf {@code Value} (numbers become doubles); a value that is not JSON is skipped
   *       with a warning.</li>
   * </ol>
   *
   * @param env environment variables
   * @param proxyMetadata the merged {@code proxyMetadata}, prefix already stripped ({@link #stripMetaPrefix})
   */
  public static NodeInfo of(Map<String, String> env, Map<String, String> proxyMetadata) {
    requireNonNull(env, "env");
    requireNonNull(proxyMetadata, "proxyMetadata");
    String ip = env.getOrDefault("INSTANCE_IP", DEFAULT_INSTANCE_IP);
    String pod = env.getOrDefault("POD_NAME", "");
    String ns = env.getOrDefault("POD_NAMESPACE", "");
    String id = "ztunnel~" + ip + "~" + pod + "." + ns + "~" + ns + ".svc.cluster.local";
    Struct.Builder md = Struct.newBuilder();
    md.putFields("NAME", string(pod));
    md.putFields("NAMESPACE", string(ns));
    md.putFields("INSTANCE_IPS", string(ip));
    md.putFields("NODE_NAME", string(env.getOrDefault("NODE_NAME", "")));
    proxyMetadata(env, proxyMetadata).forEach((k, v) -> md.putFields(k, string(v)));
    // Sorted so the result does not depend on the map's iteration order.
    for (Map.Entry<String, String> e : new TreeMap<>(env).entrySet()) {
      String k = e.getKey();
      if (k.startsWith(META_JSON_PREFIX) && k.length() > META_JSON_PREFIX.length()) {
        try {
          md.putFields(k.substring(META_JSON_PREFIX.length()), json(JsonParser.parseString(e.getValue())));
        } catch (JsonParseException ex) {
          log.warn("ignoring {}: not JSON ({})", k, ex.getMessage());
        }
      }
    }
    return new NodeInfo(id, md.build());
  }

  /**
   * ztunnel's proxy metadata map: {@code proxyMetadata} overridden by the {@code ISTIO_META_*}
   * environment variables (prefix stripped). Sorted by key.
   */
  public static SortedMap<String, String> proxyMetadata(Map<String, String> env, Map<String, String> proxyMetadata) {
    SortedMap<String, String> merged = new TreeMap<>(proxyMetadata);
    for (Map.Entry<String, String> e : env.entrySet()) {
      String k = e.getKey();
      if (k.startsWith(META_PREFIX) && k.length() > META_PREFIX.length()) {
        merged.put(k.substring(META_PREFIX.length()), e.getValue());
      }
    }
    return merged;
  }

  /**
   * Strips {@code ISTIO_META_} from the keys of a (merged) {@code proxyMetadata} map; keys without the
   * prefix are kept. When both {@code ISTIO_META_K} and {@code K} are present the prefixed one wins
   * (upstream leaves this to hash order; the prefixed form is the one istio-agent documents).
   */
  public static SortedMap<String, String> stripMetaPrefix(Map<String, String> proxyMetadata) {
    SortedMap<String, String> out = new TreeMap<>();
    proxyMetadata.forEach((k, v) -> {
      if (!k.startsWith(META_PREFIX)) {
        out.put(k, v);
      }
    });
    proxyMetadata.forEach((k, v) -> {
      if (k.startsWith(META_PREFIX) && k.length() > META_PREFIX.length()) {
        out.put(k.substring(META_PREFIX.length()), v);
      }
    });
    return out;
  }

  /** The proto sent in the initial request of each type. */
  public Node toNode() {
    return Node.newBuilder().setId(id).setMetadata(metadata).build();
  }

  private static Value string(String s) {
    return Value.newBuilder().setStringValue(s).build();
  }

  private static Value json(JsonElement e) {
    if (e == null || e.isJsonNull()) {
      return Value.newBuilder().setNullValue(NullValue.NULL_VALUE).build();
    }
    if (e.isJsonObject()) {
      Struct.Builder s = Struct.newBuilder();
      e.getAsJsonObject().entrySet().forEach(en -> s.putFields(en.getKey(), json(en.getValue())));
      return Value.newBuilder().setStructValue(s).build();
    }
    if (e.isJsonArray()) {
      ListValue.Builder l = ListValue.newBuilder();
      e.getAsJsonArray().forEach(x -> l.addValues(json(x)));
      return Value.newBuilder().setListValue(l).build();
    }
    var p = e.getAsJsonPrimitive();
    if (p.isBoolean()) {
      return Value.newBuilder().setBoolValue(p.getAsBoolean()).build();
    }
    if (p.isNumber()) {
      return Value.newBuilder().setNumberValue(p.getAsDouble()).build();
    }
    return string(p.getAsString());
  }
}
