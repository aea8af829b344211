package dev.ambient.ztunnel;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import dev.ambient.xds.client.NodeInfo;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import org.jspecify.annotations.Nullable;

/**
 * Istio's ProxyConfig as ztunnel reads it (spec §3.2): the mesh config file's {@code defaultConfig}
 * ({@code ./etc/istio/config/mesh}), then {@code PROXY_CONFIG} (YAML or JSON), the later winning field
 * by field and {@code proxyMetadata} merged key by key. Only the fields ztunnel reads are looked at;
 * the rest of a full ProxyConfig or MeshConfig is ignored. {@code ISTIO_META_} is stripped from
 * the merged {@code proxyMetadata} keys ({@link NodeInfo#stripMetaPrefix}).
 */
final class ProxyConfigParser {
  static final String VARIABLE = "PROXY_CONFIG";
  /** Where ztunnel reads the mesh config, relative to its working directory (spec §3.2). */
  static final String MESH_CONFIG_PATH = "./etc/istio/config/mesh";
  /** How a problem in the mesh config file is labelled. */
  static final String MESH_CONFIG = "mesh config " + MESH_CONFIG_PATH;

  private ProxyConfigParser() {}

  /**
   * The YAML/JSON reader, created on first use: with neither a mesh config file nor {@code PROXY_CONFIG}
   * (the common case) Jackson is never loaded (~390 classes, ~3 MiB of metaspace per ztunnel). The
   * {@code catch} of a Jackson exception lives here too: the verifier loads the classes of exception
   * handlers when it links the class that has them.
   */
  private static final class Yaml {
    static final ObjectMapper MAPPER = new YAMLMapper();

    private Yaml() {}

    static @Nullable JsonNode document(EnvReader r, String source, String text, String notObject) {
      JsonNode root;
      try {
        root = MAPPER.readTree(text);
      } catch (JacksonException e) {
        r.problem(source, text, "not YAML or JSON (" + e.getOriginalMessage() + ")");
        return null;
      }
      if (root == null || root.isNull() || root.isMissingNode()) {
        return null;
      }
      if (!root.isObject()) {
        r.problem(source, text, notObject);
        return null;
      }
      return root;
    }
  }

  /** One document's fields, before merging; null = not set. */
  private record Partial(Optional<String> discoveryAddress, @Nullable Integer proxyAdminPort,
      @Nullable Integer statsPort, Optional<Integer> concurrency, Map<String, String> proxyMetadata) {
    static final Partial EMPTY = new Partial(Optional.empty(), null, null, Optional.empty(), Map.of());

    Partial merge(Partial later) {
      Map<String, String> md = new LinkedHashMap<>(proxyMetadata);
      md.putAll(later.proxyMetadata);
      return new Partial(later.discoveryAddress.or(() -> discoveryAddress),
          later.proxyAdminPort != null ? later.proxyAdminPort : proxyAdminPort,
          later.statsPort != null ? later.statsPort : statsPort,
          later.concurrency.or(() -> concurrency), md);
    }
  }

  /** {@code PROXY_CONFIG} only (no mesh config file). */
  static ZtunnelConfig.ProxyConfig parse(EnvReader r) {
    return parse(r, null);
  }

  /**
   * @param meshConfig the mesh config file's content, or null when there is none
   */
  static ZtunnelConfig.ProxyConfig parse(EnvReader r, @Nullable String meshConfig) {
    String v = r.raw(VARIABLE);
    if ((meshConfig == null || meshConfig.isBlank()) && (v == null || v.isBlank())) {
      return ZtunnelConfig.ProxyConfig.defaults();
    }
    Partial merged = Partial.EMPTY;
    if (meshConfig != null && !meshConfig.isBlank()) {
      JsonNode mesh = Yaml.document(r, MESH_CONFIG, meshConfig, "must be a MeshConfig object");
      if (mesh != null) {
        JsonNode dc = mesh.get("defaultConfig");
        if (dc != null && !dc.isNull()) {
          if (!dc.isObject()) {
            r.problem(MESH_CONFIG, meshConfig, "defaultConfig must be a ProxyConfig object");
          } else {
            merged = merged.merge(partial(r, MESH_CONFIG, meshConfig, dc, "defaultConfig."));
          }
        }
      }
    }
    if (v != null && !v.isBlank()) {
      JsonNode root = Yaml.document(r, VARIABLE, v, "must be a ProxyConfig object");
      if (root != null) {
        merged = merged.merge(partial(r, VARIABLE, v, root, ""));
      }
    }
    ZtunnelConfig.ProxyConfig dflt = ZtunnelConfig.ProxyConfig.defaults();
    return new ZtunnelConfig.ProxyConfig(merged.discoveryAddress,
        merged.proxyAdminPort != null ? merged.proxyAdminPort : dflt.proxyAdminPort(),
        merged.statsPort != null ? merged.statsPort : dflt.statsPort(),
        merged.concurrency, NodeInfo.stripMetaPrefix(merged.proxyMetadata));
  }

  private static Partial partial(EnvReader r, String source, String v, JsonNode root, String at) {
    Optional<String> discovery = Optional.empty();
    JsonNode d = root.get("discoveryAddress");
    if (d != null && !d.isNull()) {
      if (!d.isTextual()) {
        r.problem(source, v, at + "discoveryAddress must be a string");
      } else if (!d.asText().isEmpty()) {
        discovery = Optional.of(d.asText());
      }
    }
    Integer adminPort = port(r, source, v, root, at, "proxyAdminPort");
    Integer statsPort = port(r, source, v, root, at, "statsPort");
    Optional<Integer> concurrency = Optional.empty();
    JsonNode c = root.get("concurrency");
    if (c != null && !c.isNull()) {
      if (!c.canConvertToInt() || !c.isIntegralNumber() || c.asInt() < 0) {
        r.problem(source, v, at + "concurrency must be a non-negative integer");
      } else {
        concurrency = Optional.of(c.asInt());
      }
    }
    Map<String, String> metadata = new LinkedHashMap<>();
    JsonNode md = root.get("proxyMetadata");
    if (md != null && !md.isNull()) {
      if (!md.isObject()) {
        r.problem(source, v, at + "proxyMetadata must be a map of strings");
      } else {
        for (Map.Entry<String, JsonNode> e : md.properties()) {
          if (!e.getValue().isValueNode() || e.getValue().isNull()) {
            r.problem(source, v, at + "proxyMetadata." + e.getKey() + " must be a string");
            continue;
          }
          metadata.put(e.getKey(), e.getValue().asText());
        }
      }
    }
    return new Partial(discovery, adminPort, statsPort, concurrency, metadata);
  }

  private static @Nullable Integer port(EnvReader r, String source, String v, JsonNode root, String at, String field) {
    JsonNode p = root.get(field);
    if (p == null || p.isNull()) {
      return null;
    }
    if (!p.isIntegralNumber() || p.asLong() < 1 || p.asLong() > 65_535) {
      r.problem(source, v, at + field + " must be a port within 1..65535");
      return null;
    }
    return p.asInt();
  }
}
