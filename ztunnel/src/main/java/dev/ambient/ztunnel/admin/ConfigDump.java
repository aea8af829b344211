package dev.ambient.ztunnel.admin;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.BeanDescription;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.JsonSerializer;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationConfig;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.SerializerProvider;
import com.fasterxml.jackson.databind.module.SimpleModule;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.ser.BeanPropertyWriter;
import com.fasterxml.jackson.databind.ser.BeanSerializerModifier;
import com.fasterxml.jackson.databind.ser.std.StdSerializer;
import com.fasterxml.jackson.databind.ser.std.ToStringSerializer;
import dev.ambient.identity.SpiffeId;
import dev.ambient.xds.ca.SecretManager;
import dev.ambient.xds.client.Authorization;
import dev.ambient.xds.client.Workload;
import dev.ambient.ztunnel.state.Endpoint;
import dev.ambient.ztunnel.state.ServiceEntry;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Builds ztunnel's {@code /config_dump} document (spec §9.5) from {@link Sources}: top-level keys
 * {@code workloads, services, policies, stagedServices, staticConfig, version, config, certificates,
 * workloadState}, in that order. Lists are sorted by uid / key / identity so two dumps of the same
 * state are byte-identical. A section whose source throws is rendered as {@code {"error": "..."}}
 * and the rest of the dump is still produced.
 */
public final class ConfigDump {
  private static final Logger log = LoggerFactory.getLogger(ConfigDump.class);
  private static final JsonNodeFactory F = JsonNodeFactory.instance;
  /** Renders {@code config} / {@code staticConfig} objects: records, with Optional, Duration, IPs as text. */
  static final ObjectMapper MAPPER = new ObjectMapper()
      .disable(SerializationFeature.FAIL_ON_EMPTY_BEANS)
      .registerModule(new SimpleModule("ztunnel-admin")
          .addSerializer(Duration.class, ToStringSerializer.instance)
          .addSerializer(InetAddress.class, new StdSerializer<>(InetAddress.class) {
            @Override
            public void serialize(InetAddress v, JsonGenerator g, SerializerProvider p) throws IOException {
              g.writeString(v.getHostAddress());
            }
          })
          .addSerializer(Path.class, ToStringSerializer.instance)
          .addSerializer(SpiffeId.class, ToStringSerializer.instance)
          .addSerializer(Optional.class, new OptionalSerializer())
          .addSerializer(com.google.protobuf.Message.class, new ProtobufJson())
          .setSerializerModifier(new Redactor()));

  /**
   * Where the dump's parts come from. Every method has an empty default, so the runtime implements
   * only what it has; each is called once per dump, off the data path.
   */
  public interface Sources {
    /** Current workloads (e.g. {@code ProxyState#workloads()}). */
    default Collection<Workload> workloads() {
      return List.of();
    }

    /** Current services with their endpoints. */
    default Collection<ServiceEntry> services() {
      return List.of();
    }

    /** Endpoints of services not known yet: service key ({@code ns/hostname}) → uid → endpoint. */
    default Map<String, Map<String, Endpoint>> stagedServices() {
      return Map.of();
    }

    /** Current authorization policies. */
    default Collection<Authorization> policies() {
      return List.of();
    }

    /** The local xDS file, re-read now; empty when none is configured. */
    default Optional<JsonNode> staticConfig() {
      return Optional.empty();
    }

    default BuildInfo version() {
      return BuildInfo.current("unknown");
    }

    /** The effective configuration (e.g. {@code ZtunnelConfig}); rendered with Jackson. */
    default Object config() {
      return Map.of();
    }

    /** Certificate state per identity ({@code SecretManager#states()}). */
    default Map<SpiffeId, SecretManager.CertState> certificates() {
      return Map.of();
    }

    /** In-pod workload proxies by pod uid. */
    default Map<String, WorkloadStateDump> workloadState() {
      return Map.of();
    }
  }

  private ConfigDump() {}

  /** The dump as a JSON tree. */
  public static ObjectNode render(Sources sources) {
    requireNonNull(sources, "sources");
    ObjectNode root = F.objectNode();
    section(root, "workloads", () -> {
      ArrayNode a = F.arrayNode();
      sources.workloads().stream().sorted(Comparator.comparing(Workload::uid))
          .forEach(w -> a.add(ResourceJson.workload(w)));
      return a;
    });
    section(root, "services", () -> {
      ArrayNode a = F.arrayNode();
      sources.services().stream().sorted(Comparator.comparing(ServiceEntry::key))
          .forEach(s -> a.add(ResourceJson.service(s)));
      return a;
    });
    section(root, "policies", () -> {
      ArrayNode a = F.arrayNode();
      sources.policies().stream().sorted(Comparator.comparing(Authorization::key))
          .forEach(p -> a.add(ResourceJson.policy(p)));
      return a;
    });
    section(root, "stagedServices", () -> {
      ObjectNode o = F.objectNode();
      new TreeMap<>(sources.stagedServices()).forEach((k, eps) -> o.set(k, ResourceJson.endpoints(eps)));
      return o;
    });
    section(root, "staticConfig", () -> sources.staticConfig().orElse(F.nullNode()));
    section(root, "version", () -> MAPPER.valueToTree(sources.version()));
    section(root, "config", () -> MAPPER.valueToTree(sources.config()));
    section(root, "certificates", () -> {
      ArrayNode a = F.arrayNode();
      Map<String, Map.Entry<SpiffeId, SecretManager.CertState>> sorted = new TreeMap<>();
      sources.certificates().entrySet().forEach(e -> sorted.put(e.getKey().toString(), e));
      sorted.values().forEach(e -> a.add(CertificateJson.of(e.getKey(), e.getValue())));
      return a;
    });
    section(root, "workloadState", () -> {
      ObjectNode o = F.objectNode();
      new TreeMap<>(sources.workloadState()).forEach((uid, s) -> o.set(uid, workloadState(s)));
      return o;
    });
    return root;
  }

  /** The dump as pretty-printed JSON text. */
  public static String toJson(Sources sources) {
    try {
      return MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(render(sources));
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cannot write config dump: " + e.getMessage(), e);
    }
  }

  private static void section(ObjectNode root, String name, Supplier<JsonNode> part) {
    try {
      root.set(name, part.get());
    } catch (RuntimeException e) {
      log.warn("config_dump: section {} failed", name, e);
      root.putObject(name).put("error", String.valueOf(e));
    }
  }

  private static ObjectNode workloadState(WorkloadStateDump s) {
    ObjectNode o = F.objectNode();
    o.put("state", s.state());
    o.put("info", s.info());
    ObjectNode connections = o.putObject("connections");
    ArrayNode in = connections.putArray("inbound");
    s.inbound().forEach(c -> in.add(connection(c)));
    ArrayNode out = connections.putArray("outbound");
    s.outbound().forEach(c -> out.add(connection(c)));
    return o;
  }

  private static ObjectNode connection(WorkloadStateDump.Connection c) {
    ObjectNode o = F.objectNode();
    o.put("src", c.src());
    if (c.originalDst().isPresent()) {
      o.put("originalDst", c.originalDst().get());
    } else {
      o.putNull("originalDst");
    }
    o.put("actualDst", c.actualDst());
    o.put("protocol", c.protocol());
    return o;
  }

  /**
   * Writes {@code "<redacted>"} for properties whose name says they hold a credential ({@code
   * token}, {@code secret}, {@code password}, {@code privateKey}, {@code authorization}), whatever
   * their type, so {@code AUTH_TOKEN} and similar never reach the dump.
   */
  static final class Redactor extends BeanSerializerModifier {
    private static final long serialVersionUID = 1L;
    static final List<String> SENSITIVE = List.of("token", "secret", "password", "privatekey", "authorization");

    @Override
    public List<BeanPropertyWriter> changeProperties(SerializationConfig config, BeanDescription bean,
        List<BeanPropertyWriter> properties) {
      for (BeanPropertyWriter w : properties) {
        if (isSensitive(w.getName())) {
          w.assignSerializer(REDACTED);
          w.assignNullSerializer(REDACTED);
        }
      }
      return properties;
    }

    static boolean isSensitive(String property) {
      String p = property.toLowerCase(Locale.ROOT);
      return SENSITIVE.stream().anyMatch(p::contains);
    }

    private static final JsonSerializer<Object> REDACTED = new StdSerializer<>(Object.class) {
      @Override
      public void serialize(Object v, JsonGenerator g, SerializerProvider p) throws IOException {
        g.writeString("<redacted>");
      }
    };
  }

  /** Present → the value, empty → null. */
  @SuppressWarnings("rawtypes")
  private static final class OptionalSerializer extends StdSerializer<Optional> {
    private static final long serialVersionUID = 1L;

    OptionalSerializer() {
      super(Optional.class);
    }

    @Override
    public void serialize(Optional v, JsonGenerator g, SerializerProvider p) throws IOException {
      if (v.isPresent()) {
        p.defaultSerializeValue(v.get(), g);
      } else {
        g.writeNull();
      }
    }
  }
}
