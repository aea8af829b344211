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
import java.util.TreeMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@code Node} ztunnel presents to istiod (spec §2.3). istiod classifies the proxy by the
 * leading {@code ztunnel} token of the id, so the format is fixed.
 *
 * @param id {@code ztunnel~<ip>~<pod>.<ns>~<ns>.svc.cluster.local}
 * @param metadata NAME, NAMESPACE, INSTANCE_IPS, NODE_NAME, then ISTIO_META_* (prefix stripped)
 *     and ISTIO_METAJSON_* (parsed) entries
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
   * Builds the node from environment variables: {@code INSTANCE_IP} (default 1.1.1.1),
   * {@code POD_NAME}, {@code POD_NAMESPACE}, {@code NODE_NAME}, {@code ISTIO_META_*},
   * {@code ISTIO_METAJSON_*} (values that are not JSON are skipped with a warning). Pure.
   */
  public static NodeInfo fromEnvironment(Map<String, String> env) {
    String ip = env.getOrDefault("INSTANCE_IP", DEFAULT_INSTANCE_IP);
    String pod = env.getOrDefault("POD_NAME", "");
    String ns = env.getOrDefault("POD_NAMESPACE", "");
    String id = "ztunnel~" + ip + "~" + pod + "." + ns + "~" + ns + ".svc.cluster.local";
    Struct.Builder md = Struct.newBuilder();
    md.putFields("NAME", string(pod));
    md.putFields("NAMESPACE", string(ns));
    md.putFields("INSTANCE_IPS", string(ip));
    md.putFields("NODE_NAME", string(env.getOrDefault("NODE_NAME", "")));
    // Sorted so the result does not depend on the map's iteration order.
    for (Map.Entry<String, String> e : new TreeMap<>(env).entrySet()) {
      String k = e.getKey();
      if (k.startsWith(META_PREFIX) && k.length() > META_PREFIX.length()) {
        md.putFields(k.substring(META_PREFIX.length()), string(e.getValue()));
      }
    }
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

  /** The proto sent in the initial request of each type. */
  Node toNode() {
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
