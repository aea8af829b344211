package dev.ambient.ztunnel;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * {@code PROXY_CONFIG}: Istio's ProxyConfig as YAML or JSON (spec §3.2). Only the fields ztunnel
 * reads are looked at; the rest of a full ProxyConfig is ignored, as istio-agent does.
 */
final class ProxyConfigParser {
  static final String VARIABLE = "PROXY_CONFIG";
  private static final String META_PREFIX = "ISTIO_META_";
  private static final ObjectMapper YAML = new YAMLMapper();

  private ProxyConfigParser() {}

  static ZtunnelConfig.ProxyConfig parse(EnvReader r) {
    ZtunnelConfig.ProxyConfig dflt = ZtunnelConfig.ProxyConfig.defaults();
    String v = r.raw(VARIABLE);
    if (v == null || v.isBlank()) {
      return dflt;
    }
    JsonNode root;
    try {
      root = YAML.readTree(v);
    } catch (JacksonException e) {
      r.problem(VARIABLE, v, "not YAML or JSON (" + e.getOriginalMessage() + ")");
      return dflt;
    }
    if (root == null || root.isNull() || root.isMissingNode()) {
      return dflt;
    }
    if (!root.isObject()) {
      r.problem(VARIABLE, v, "must be a ProxyConfig object");
      return dflt;
    }
    Optional<String> discovery = Optional.empty();
    JsonNode d = root.get("discoveryAddress");
    if (d != null && !d.isNull()) {
      if (!d.isTextual()) {
        r.problem(VARIABLE, v, "discoveryAddress must be a string");
      } else if (!d.asText().isEmpty()) {
        discovery = Optional.of(d.asText());
      }
    }
    int adminPort = port(r, v, root, "proxyAdminPort", dflt.proxyAdminPort());
    int statsPort = port(r, v, root, "statsPort", dflt.statsPort());
    Optional<Integer> concurrency = Optional.empty();
    JsonNode c = root.get("concurrency");
    if (c != null && !c.isNull()) {
      if (!c.canConvertToInt() || !c.isIntegralNumber() || c.asInt() < 0) {
        r.problem(VARIABLE, v, "concurrency must be a non-negative integer");
      } else {
        concurrency = Optional.of(c.asInt());
      }
    }
    Map<String, String> metadata = new TreeMap<>();
    JsonNode md = root.get("proxyMetadata");
    if (md != null && !md.isNull()) {
      if (!md.isObject()) {
        r.problem(VARIABLE, v, "proxyMetadata must be a map of strings");
      } else {
        for (Map.Entry<String, JsonNode> e : md.properties()) {
          if (!e.getValue().isValueNode() || e.getValue().isNull()) {
            r.problem(VARIABLE, v, "proxyMetadata." + e.getKey() + " must be a string");
            continue;
          }
          String k = e.getKey().startsWith(META_PREFIX) ? e.getKey().substring(META_PREFIX.length()) : e.getKey();
          metadata.put(k, e.getValue().asText());
        }
      }
    }
    return new ZtunnelConfig.ProxyConfig(discovery, adminPort, statsPort, concurrency, metadata);
  }

  private static int port(EnvReader r, String v, JsonNode root, String field, int dflt) {
    JsonNode p = root.get(field);
    if (p == null || p.isNull()) {
      return dflt;
    }
    if (!p.isIntegralNumber() || p.asLong() < 1 || p.asLong() > 65_535) {
      r.problem(VARIABLE, v, field + " must be a port within 1..65535");
      return dflt;
    }
    return p.asInt();
  }
}
