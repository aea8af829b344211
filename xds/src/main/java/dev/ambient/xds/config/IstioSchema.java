package dev.ambient.xds.config;

import static java.util.Objects.requireNonNullElse;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.databind.JsonNode;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * The Istio security CRDs ({@code security.istio.io/v1} and {@code v1beta1}) as Jackson binds them. {@code spec}
 * rejects unknown fields (a typo must not silently widen a policy); {@code metadata} ignores the Kubernetes
 * fields we do not use, and {@code status} is ignored.
 */
final class IstioSchema {
  static final String GROUP = "security.istio.io/";
  static final List<String> API_VERSIONS = List.of(GROUP + "v1", GROUP + "v1beta1");

  private IstioSchema() {}

  /** The parsed objects this package understands. */
  sealed interface IstioObject permits AuthorizationPolicy, PeerAuthentication {
    Metadata metadata();

    String kind();

    /** {@code Kind/namespace/name}, for messages and duplicate detection. */
    default String key() {
      return kind() + "/" + metadata().namespace() + "/" + metadata().name();
    }
  }

  @JsonIgnoreProperties(ignoreUnknown = true)
  record Metadata(
      String name, String namespace, Map<String, String> annotations, @Nullable Instant creationTimestamp) {
    Metadata(@Nullable String name, @Nullable String namespace, @Nullable Map<String, String> annotations,
        @Nullable String creationTimestamp) {
      this(requireName(name), namespace == null || namespace.isEmpty() ? "default" : namespace,
          annotations == null ? Map.of() : Map.copyOf(annotations), instant(creationTimestamp));
    }

    @com.fasterxml.jackson.annotation.JsonCreator
    static Metadata of(@com.fasterxml.jackson.annotation.JsonProperty("name") @Nullable String name,
        @com.fasterxml.jackson.annotation.JsonProperty("namespace") @Nullable String namespace,
        @com.fasterxml.jackson.annotation.JsonProperty("annotations") @Nullable Map<String, String> annotations,
        @com.fasterxml.jackson.annotation.JsonProperty("creationTimestamp") @Nullable String creationTimestamp) {
      return new Metadata(name, namespace, annotations, creationTimestamp);
    }

    private static String requireName(@Nullable String name) {
      if (name == null || name.isEmpty()) {
        throw new IllegalArgumentException("metadata.name is required");
      }
      return name;
    }

    private static @Nullable Instant instant(@Nullable String text) {
      if (text == null) {
        return null;
      }
      try {
        return Instant.parse(text);
      } catch (DateTimeParseException e) {
        throw new IllegalArgumentException("creationTimestamp '" + text + "' is not an RFC 3339 time");
      }
    }
  }

  record Selector(@Nullable Map<String, String> matchLabels) {
    Map<String, String> labels() {
      return requireNonNullElse(matchLabels, Map.of());
    }

    boolean matches(Map<String, String> workloadLabels) {
      return workloadLabels.entrySet().containsAll(labels().entrySet());
    }
  }

  record AuthorizationPolicy(
      String apiVersion, String kind, Metadata metadata, @Nullable AuthorizationPolicySpec spec,
      @Nullable JsonNode status) implements IstioObject {
    AuthorizationPolicy {
      LocalConfigSchema.required(metadata, "metadata");
      spec = requireNonNullElse(spec, AuthorizationPolicySpec.EMPTY);
    }
  }

  enum PolicyAction { ALLOW, DENY, AUDIT, CUSTOM }

  record AuthorizationPolicySpec(
      @Nullable Selector selector, @Nullable JsonNode targetRef, @Nullable List<JsonNode> targetRefs,
      @Nullable PolicyAction action, @Nullable JsonNode provider, @Nullable List<Rule> rules) {
    static final AuthorizationPolicySpec EMPTY = new AuthorizationPolicySpec(null, null, null, null, null, null);
  }

  record Rule(@Nullable List<From> from, @Nullable List<To> to, @Nullable List<Condition> when) {}

  record From(@Nullable Source source) {}

  record Source(
      @Nullable List<String> principals, @Nullable List<String> notPrincipals,
      @Nullable List<String> requestPrincipals, @Nullable List<String> notRequestPrincipals,
      @Nullable List<String> namespaces, @Nullable List<String> notNamespaces,
      @Nullable List<String> serviceAccounts, @Nullable List<String> notServiceAccounts,
      @Nullable List<String> ipBlocks, @Nullable List<String> notIpBlocks,
      @Nullable List<String> remoteIpBlocks, @Nullable List<String> notRemoteIpBlocks) {
    static final Source EMPTY = new Source(null, null, null, null, null, null, null, null, null, null, null, null);
  }

  record To(@Nullable Operation operation) {}

  record Operation(
      @Nullable List<String> hosts, @Nullable List<String> notHosts,
      @Nullable List<String> ports, @Nullable List<String> notPorts,
      @Nullable List<String> methods, @Nullable List<String> notMethods,
      @Nullable List<String> paths, @Nullable List<String> notPaths) {
    static final Operation EMPTY = new Operation(null, null, null, null, null, null, null, null);
  }

  record Condition(String key, @Nullable List<String> values, @Nullable List<String> notValues) {
    Condition {
      LocalConfigSchema.required(key, "key");
    }
  }

  record PeerAuthentication(
      String apiVersion, String kind, Metadata metadata, @Nullable PeerAuthenticationSpec spec,
      @Nullable JsonNode status) implements IstioObject {
    PeerAuthentication {
      LocalConfigSchema.required(metadata, "metadata");
      spec = requireNonNullElse(spec, new PeerAuthenticationSpec(null, null, null));
    }
  }

  enum MtlsMode { UNSET, DISABLE, PERMISSIVE, STRICT }

  record Mtls(@Nullable MtlsMode mode) {
    MtlsMode effective() {
      return requireNonNullElse(mode, MtlsMode.UNSET);
    }
  }

  record PeerAuthenticationSpec(
      @Nullable Selector selector, @Nullable Mtls mtls, @Nullable Map<Integer, Mtls> portLevelMtls) {
    MtlsMode mode() {
      return mtls == null ? MtlsMode.UNSET : mtls.effective();
    }

    Map<Integer, Mtls> ports() {
      return requireNonNullElse(portLevelMtls, Map.of());
    }

    /** A selector with labels; an empty selector counts as none (namespace- or mesh-wide), as in istiod. */
    boolean hasWorkloadSelector() {
      return selector != null && !selector.labels().isEmpty();
    }
  }
}
