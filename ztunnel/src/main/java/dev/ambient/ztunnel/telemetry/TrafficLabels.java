package dev.ambient.ztunnel.telemetry;

import dev.ambient.identity.SpiffeId;
import dev.ambient.xds.client.Locality;
import dev.ambient.xds.client.Service;
import dev.ambient.xds.client.Workload;
import io.prometheus.metrics.model.snapshots.Labels;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.jspecify.annotations.Nullable;

/**
 * Istio's traffic label set for one connection (spec §9.2 {@code CommonTrafficLabels}), derived
 * purely from {@link ConnectionFacts}. Immutable; equal label values mean the same metric series,
 * so instances are map keys (the hash is computed once).
 *
 * <p>Population: {@code source_*} from the source workload, or, when it is absent, from the derived
 * source (request baggage, namespace falling back to the mTLS identity); {@code source_principal}
 * and {@code destination_principal} only from the identities of an mTLS hop; the four locality
 * labels only when some locality is known. Missing values render as {@code unknown}.
 */
final class TrafficLabels {
  static final String UNKNOWN = "unknown";

  static final List<String> NAMES = List.of(
      "reporter",
      "source_workload",
      "source_canonical_service",
      "source_canonical_revision",
      "source_workload_namespace",
      "source_principal",
      "source_app",
      "source_version",
      "source_cluster",
      "destination_service",
      "destination_service_namespace",
      "destination_service_name",
      "destination_workload",
      "destination_canonical_service",
      "destination_canonical_revision",
      "destination_workload_namespace",
      "destination_principal",
      "destination_app",
      "destination_version",
      "destination_cluster",
      "request_protocol",
      "response_flags",
      "connection_security_policy");

  static final List<String> LOCALITY_NAMES =
      List.of("source_region", "source_zone", "destination_region", "destination_zone");

  private static final String[] BASE = NAMES.toArray(String[]::new);
  private static final String[] WITH_LOCALITY =
      java.util.stream.Stream.concat(NAMES.stream(), LOCALITY_NAMES.stream()).toArray(String[]::new);

  // Indices into values, in NAMES order.
  static final int REPORTER = 0;
  static final int SOURCE_WORKLOAD = 1;
  static final int SOURCE_CANONICAL_SERVICE = 2;
  static final int SOURCE_CANONICAL_REVISION = 3;
  static final int SOURCE_NAMESPACE = 4;
  static final int SOURCE_PRINCIPAL = 5;
  static final int SOURCE_APP = 6;
  static final int SOURCE_VERSION = 7;
  static final int SOURCE_CLUSTER = 8;
  static final int DESTINATION_SERVICE = 9;
  static final int DESTINATION_SERVICE_NAMESPACE = 10;
  static final int DESTINATION_SERVICE_NAME = 11;
  static final int DESTINATION_WORKLOAD = 12;
  static final int DESTINATION_CANONICAL_SERVICE = 13;
  static final int DESTINATION_CANONICAL_REVISION = 14;
  static final int DESTINATION_NAMESPACE = 15;
  static final int DESTINATION_PRINCIPAL = 16;
  static final int DESTINATION_APP = 17;
  static final int DESTINATION_VERSION = 18;
  static final int DESTINATION_CLUSTER = 19;
  static final int REQUEST_PROTOCOL = 20;
  static final int RESPONSE_FLAGS = 21;
  static final int SECURITY_POLICY = 22;

  private final String[] values;
  private final int hash;
  private volatile @Nullable Labels prometheusLabels;

  private TrafficLabels(String[] values) {
    this.values = values;
    this.hash = Arrays.hashCode(values);
  }

  /** The labels of a connection as opened ({@code response_flags="-"}). */
  static TrafficLabels of(ConnectionFacts facts) {
    String[] v = new String[NAMES.size()];
    Arrays.fill(v, UNKNOWN);
    v[REPORTER] = facts.reporter().label();
    String sourceRegion = "";
    String sourceZone = "";
    if (facts.sourceWorkload().isPresent()) {
      Workload w = facts.sourceWorkload().get();
      set(v, SOURCE_WORKLOAD, w.workloadName());
      set(v, SOURCE_CANONICAL_SERVICE, w.canonicalName());
      set(v, SOURCE_CANONICAL_REVISION, w.canonicalRevision());
      set(v, SOURCE_NAMESPACE, w.namespace());
      set(v, SOURCE_APP, w.canonicalName());
      set(v, SOURCE_VERSION, w.canonicalRevision());
      set(v, SOURCE_CLUSTER, w.clusterId());
      sourceRegion = w.locality().map(Locality::region).orElse("");
      sourceZone = w.locality().map(Locality::zone).orElse("");
    } else {
      Map<String, String> b = facts.sourceBaggage();
      String workloadName = Baggage.workloadName(b).orElse("");
      set(v, SOURCE_WORKLOAD, workloadName);
      set(v, SOURCE_CANONICAL_SERVICE, b.getOrDefault(Baggage.SERVICE_NAME, ""));
      set(v, SOURCE_CANONICAL_REVISION, b.getOrDefault(Baggage.SERVICE_VERSION, ""));
      set(v, SOURCE_NAMESPACE, b.getOrDefault(Baggage.NAMESPACE,
          facts.sourceIdentity().map(SpiffeId::namespace).orElse("")));
      set(v, SOURCE_APP, workloadName);
      set(v, SOURCE_VERSION, b.getOrDefault(Baggage.SERVICE_VERSION, ""));
      set(v, SOURCE_CLUSTER, b.getOrDefault(Baggage.CLUSTER, ""));
      sourceRegion = b.getOrDefault(Baggage.REGION, "");
      sourceZone = b.getOrDefault(Baggage.ZONE, "");
    }
    facts.sourceIdentity().ifPresent(id -> v[SOURCE_PRINCIPAL] = id.toString());
    if (facts.destinationService().isPresent()) {
      Service s = facts.destinationService().get();
      set(v, DESTINATION_SERVICE, s.hostname());
      set(v, DESTINATION_SERVICE_NAMESPACE, s.namespace());
      set(v, DESTINATION_SERVICE_NAME, s.name());
    }
    String destinationRegion = "";
    String destinationZone = "";
    if (facts.destinationWorkload().isPresent()) {
      Workload w = facts.destinationWorkload().get();
      set(v, DESTINATION_WORKLOAD, w.workloadName());
      set(v, DESTINATION_CANONICAL_SERVICE, w.canonicalName());
      set(v, DESTINATION_CANONICAL_REVISION, w.canonicalRevision());
      set(v, DESTINATION_NAMESPACE, w.namespace());
      set(v, DESTINATION_APP, w.canonicalName());
      set(v, DESTINATION_VERSION, w.canonicalRevision());
      set(v, DESTINATION_CLUSTER, w.clusterId());
      destinationRegion = w.locality().map(Locality::region).orElse("");
      destinationZone = w.locality().map(Locality::zone).orElse("");
    }
    facts.destinationIdentity().ifPresent(id -> v[DESTINATION_PRINCIPAL] = id.toString());
    v[REQUEST_PROTOCOL] = "tcp";
    v[RESPONSE_FLAGS] = ResponseFlag.NONE.label();
    v[SECURITY_POLICY] = facts.securityPolicy().label();
    if (sourceRegion.isEmpty() && sourceZone.isEmpty() && destinationRegion.isEmpty() && destinationZone.isEmpty()) {
      return new TrafficLabels(v);
    }
    String[] withLocality = Arrays.copyOf(v, WITH_LOCALITY.length);
    withLocality[NAMES.size()] = orUnknown(sourceRegion);
    withLocality[NAMES.size() + 1] = orUnknown(sourceZone);
    withLocality[NAMES.size() + 2] = orUnknown(destinationRegion);
    withLocality[NAMES.size() + 3] = orUnknown(destinationZone);
    return new TrafficLabels(withLocality);
  }

  /** The same labels with the final {@code response_flags}; {@code this} when unchanged. */
  TrafficLabels withResponseFlag(ResponseFlag flag) {
    if (values[RESPONSE_FLAGS].equals(flag.label())) {
      return this;
    }
    String[] v = values.clone();
    v[RESPONSE_FLAGS] = flag.label();
    return new TrafficLabels(v);
  }

  /** One label value by index (see the constants). */
  String get(int index) {
    return values[index];
  }

  /** The value at {@code index}, empty when it is {@code unknown}. */
  Optional<String> find(int index) {
    return UNKNOWN.equals(values[index]) ? Optional.empty() : Optional.of(values[index]);
  }

  boolean hasLocality() {
    return values.length > NAMES.size();
  }

  /** Label name to value, in Istio's order. */
  Map<String, String> asMap() {
    String[] names = hasLocality() ? WITH_LOCALITY : BASE;
    Map<String, String> m = new LinkedHashMap<>();
    for (int i = 0; i < names.length; i++) {
      m.put(names[i], values[i]);
    }
    return Collections.unmodifiableMap(m);
  }

  /** The Prometheus form, built once per series. */
  Labels prometheusLabels() {
    Labels l = prometheusLabels;
    if (l == null) {
      l = Labels.of((hasLocality() ? WITH_LOCALITY : BASE).clone(), values.clone());
      prometheusLabels = l;
    }
    return l;
  }

  @Override
  public boolean equals(@Nullable Object o) {
    return o instanceof TrafficLabels other && hash == other.hash && Arrays.equals(values, other.values);
  }

  @Override
  public int hashCode() {
    return hash;
  }

  @Override
  public String toString() {
    return asMap().toString();
  }

  private static void set(String[] v, int index, String value) {
    v[index] = orUnknown(value);
  }

  private static String orUnknown(String value) {
    return value.isEmpty() ? UNKNOWN : value;
  }

}
