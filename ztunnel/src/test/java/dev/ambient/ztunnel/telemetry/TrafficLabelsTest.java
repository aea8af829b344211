package dev.ambient.ztunnel.telemetry;

import static dev.ambient.ztunnel.telemetry.TelemetryFixtures.CLIENT_ID;
import static dev.ambient.ztunnel.telemetry.TelemetryFixtures.client;
import static dev.ambient.ztunnel.telemetry.TelemetryFixtures.inboundDerived;
import static dev.ambient.ztunnel.telemetry.TelemetryFixtures.outboundHbone;
import static dev.ambient.ztunnel.telemetry.TelemetryFixtures.outboundPassthrough;
import static dev.ambient.ztunnel.telemetry.TelemetryFixtures.server;
import static dev.ambient.ztunnel.telemetry.TelemetryFixtures.workload;
import static org.assertj.core.api.Assertions.assertThat;

import dev.ambient.xds.client.Locality;
import dev.ambient.xds.client.Workload;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class TrafficLabelsTest {
  private static final List<String> ISTIO_NAMES = List.of("reporter", "source_workload", "source_canonical_service",
      "source_canonical_revision", "source_workload_namespace", "source_principal", "source_app", "source_version",
      "source_cluster", "destination_service", "destination_service_namespace", "destination_service_name",
      "destination_workload", "destination_canonical_service", "destination_canonical_revision",
      "destination_workload_namespace", "destination_principal", "destination_app", "destination_version",
      "destination_cluster", "request_protocol", "response_flags", "connection_security_policy");

  @Test
  void outboundHboneUsesBothWorkloadsTheServiceAndTheIdentities() {
    Map<String, String> labels = TrafficLabels.of(outboundHbone()).asMap();
    assertThat(new ArrayList<>(labels.keySet())).isEqualTo(ISTIO_NAMES);
    assertThat(new ArrayList<>(labels.values())).containsExactly(
        "source",
        "client-deploy", "client-app", "v1", "ns-client", "spiffe://cluster.local/ns/ns-client/sa/sa-client",
        "client-app", "v1", "cluster-a",
        "echo.ns-server.svc.cluster.local", "ns-server", "echo",
        "server-deploy", "server-app", "v2", "ns-server", "spiffe://cluster.local/ns/ns-server/sa/sa-server",
        "server-app", "v2", "cluster-b",
        "tcp", "-", "mutual_tls");
  }

  @Test
  void passthroughLeavesTheDestinationUnknown() {
    Map<String, String> labels = TrafficLabels.of(outboundPassthrough()).asMap();
    assertThat(labels).containsEntry("source_workload", "client-deploy")
        .containsEntry("source_principal", "unknown")
        .containsEntry("connection_security_policy", "unknown")
        .containsEntry("response_flags", "-");
    ISTIO_NAMES.stream().filter(n -> n.startsWith("destination_"))
        .forEach(n -> assertThat(labels).as(n).containsEntry(n, "unknown"));
  }

  static Stream<Arguments> derivedSource() {
    return Stream.of(
        Arguments.of("full baggage",
            Map.of("k8s.cluster.name", "remote", "k8s.namespace.name", "ns-b", "k8s.deployment.name", "dep",
                "service.name", "svc-name", "service.version", "rev7"),
            List.of("dep", "svc-name", "rev7", "ns-b", "dep", "rev7", "remote")),
        Arguments.of("pod workload type",
            Map.of("k8s.pod.name", "lonely-pod"),
            List.of("lonely-pod", "unknown", "unknown", "ns-client", "lonely-pod", "unknown", "unknown")),
        Arguments.of("no baggage: namespace from the identity only",
            Map.of(),
            List.of("unknown", "unknown", "unknown", "ns-client", "unknown", "unknown", "unknown")));
  }

  /** Values of source_workload, _canonical_service, _canonical_revision, _namespace, _app, _version, _cluster. */
  @ParameterizedTest(name = "{0}")
  @MethodSource("derivedSource")
  void inboundWithoutSourceWorkloadDerivesTheSource(String name, Map<String, String> baggage, List<String> expected) {
    Map<String, String> labels = TrafficLabels.of(inboundDerived(baggage)).asMap();
    assertThat(List.of(labels.get("source_workload"), labels.get("source_canonical_service"),
        labels.get("source_canonical_revision"), labels.get("source_workload_namespace"), labels.get("source_app"),
        labels.get("source_version"), labels.get("source_cluster"))).isEqualTo(expected);
    assertThat(labels).containsEntry("reporter", "destination")
        .containsEntry("source_principal", CLIENT_ID.toString())
        .containsEntry("destination_workload", "server-deploy");
  }

  @Test
  void aKnownSourceWorkloadWinsOverBaggage() {
    ConnectionFacts f = inboundDerived(Map.of("k8s.namespace.name", "liar", "service.name", "liar"));
    ConnectionFacts withSource = new ConnectionFacts(f.reporter(), f.source(), f.destination(), f.hboneAuthority(),
        Optional.of(client()), f.sourceIdentity(), f.destinationWorkload(), f.destinationIdentity(),
        f.destinationService(), f.securityPolicy(), f.sourceBaggage());
    assertThat(TrafficLabels.of(withSource).asMap())
        .containsEntry("source_workload_namespace", "ns-client")
        .containsEntry("source_canonical_service", "client-app");
  }

  @Test
  void principalsOnlyFromTheHopIdentities() {
    ConnectionFacts f = outboundHbone();
    ConnectionFacts noIds = new ConnectionFacts(f.reporter(), f.source(), f.destination(), f.hboneAuthority(),
        f.sourceWorkload(), Optional.empty(), f.destinationWorkload(), Optional.empty(), f.destinationService(),
        SecurityPolicy.UNKNOWN, Map.of());
    assertThat(TrafficLabels.of(noIds).asMap())
        .containsEntry("source_principal", "unknown")
        .containsEntry("destination_principal", "unknown")
        .containsEntry("connection_security_policy", "unknown");
  }

  static Stream<Arguments> locality() {
    Optional<Locality> none = Optional.empty();
    Optional<Locality> empty = Optional.of(new Locality("", "", ""));
    Optional<Locality> subzoneOnly = Optional.of(new Locality("", "", "rack"));
    Optional<Locality> euB = Optional.of(new Locality("eu", "eu-b", "rack"));
    Optional<Locality> usOnly = Optional.of(new Locality("us", "", ""));
    return Stream.of(
        Arguments.of(none, none, Map.of(), null),
        Arguments.of(empty, empty, Map.of(), null),
        Arguments.of(subzoneOnly, none, Map.of(), null),
        Arguments.of(euB, none, Map.of(), List.of("eu", "eu-b", "unknown", "unknown")),
        Arguments.of(none, usOnly, Map.of(), List.of("unknown", "unknown", "us", "unknown")),
        Arguments.of(euB, usOnly, Map.of(), List.of("eu", "eu-b", "us", "unknown")));
  }

  @ParameterizedTest
  @MethodSource("locality")
  void localityLabelsOnlyWhenSomeLocalityIsSet(Optional<Locality> src, Optional<Locality> dst,
      Map<String, String> unused, List<String> expected) {
    Workload s = workload("c", "ns-client", "sa", "c", "c", "v1", "k", src);
    Workload d = workload("s", "ns-server", "sa", "s", "s", "v1", "k", dst);
    ConnectionFacts f = outboundHbone();
    ConnectionFacts facts = new ConnectionFacts(f.reporter(), f.source(), f.destination(), f.hboneAuthority(),
        Optional.of(s), f.sourceIdentity(), Optional.of(d), f.destinationIdentity(), f.destinationService(),
        f.securityPolicy(), Map.of());
    TrafficLabels labels = TrafficLabels.of(facts);
    Map<String, String> map = labels.asMap();
    if (expected == null) {
      assertThat(labels.hasLocality()).isFalse();
      assertThat(map.keySet()).containsExactlyElementsOf(ISTIO_NAMES);
    } else {
      assertThat(map.keySet()).endsWith("source_region", "source_zone", "destination_region", "destination_zone");
      assertThat(List.of(map.get("source_region"), map.get("source_zone"), map.get("destination_region"),
          map.get("destination_zone"))).isEqualTo(expected);
    }
  }

  @Test
  void derivedSourceLocalityFromBaggage() {
    Map<String, String> labels = TrafficLabels.of(
        inboundDerived(Map.of("cloud.region", "ap", "cloud.availability_zone", "ap-1"))).asMap();
    assertThat(labels).containsEntry("source_region", "ap").containsEntry("source_zone", "ap-1")
        .containsEntry("destination_region", "unknown");
  }

  @Test
  void responseFlagChangesOnlyThatLabel() {
    TrafficLabels opened = TrafficLabels.of(outboundHbone());
    assertThat(opened.withResponseFlag(ResponseFlag.NONE)).isSameAs(opened);
    TrafficLabels denied = opened.withResponseFlag(ResponseFlag.CONNECT);
    assertThat(denied).isNotEqualTo(opened);
    Map<String, String> expected = new java.util.LinkedHashMap<>(opened.asMap());
    expected.put("response_flags", "CONNECT");
    assertThat(denied.asMap()).containsExactlyEntriesOf(expected);
    assertThat(opened.get(TrafficLabels.RESPONSE_FLAGS)).isEqualTo("-");
  }

  @Test
  void equalFactsGiveEqualKeys() {
    TrafficLabels a = TrafficLabels.of(outboundHbone());
    TrafficLabels b = TrafficLabels.of(outboundHbone());
    assertThat(a).isEqualTo(b).hasSameHashCodeAs(b).isNotSameAs(b);
    assertThat(a).isNotEqualTo(TrafficLabels.of(outboundPassthrough()));
  }

  @Test
  void emptyWorkloadFieldsRenderUnknown() {
    Workload blank = workload("p", "ns", "sa", "", "", "", "", Optional.empty());
    ConnectionFacts f = outboundPassthrough();
    ConnectionFacts facts = new ConnectionFacts(f.reporter(), f.source(), f.destination(), f.hboneAuthority(),
        Optional.of(blank), f.sourceIdentity(), Optional.of(server()), f.destinationIdentity(),
        f.destinationService(), f.securityPolicy(), Map.of());
    assertThat(TrafficLabels.of(facts).asMap())
        .containsEntry("source_workload", "unknown")
        .containsEntry("source_app", "unknown")
        .containsEntry("source_cluster", "unknown")
        .containsEntry("source_workload_namespace", "ns");
  }
}
