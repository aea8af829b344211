package dev.ambient.ztunnel.telemetry;

import static dev.ambient.ztunnel.telemetry.TelemetryFixtures.client;
import static dev.ambient.ztunnel.telemetry.TelemetryFixtures.workload;
import static org.assertj.core.api.Assertions.assertThat;

import dev.ambient.xds.client.Locality;
import dev.ambient.xds.client.Workload;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class BaggageTest {
  @Test
  void headerDescribesTheWorkloadInZtunnelsOrder() {
    assertThat(Baggage.header(client())).isEqualTo(
        "k8s.cluster.name=cluster-a,k8s.namespace.name=ns-client,k8s.deployment.name=client-deploy,"
            + "service.name=client-app,service.version=v1");
  }

  @Test
  void headerCarriesLocalityAndTheLowerCasedWorkloadType() {
    Workload w = workload("job-pod", "batch", "sa", "nightly", "nightly-app", "", "c1",
        Optional.of(new Locality("eu-west1", "eu-west1-b", "rack-3")));
    Workload job = new Workload(w.uid(), w.name(), w.namespace(), w.addresses(), w.hostname(), w.network(),
        w.tunnelProtocol(), w.trustDomain(), w.serviceAccount(), w.waypoint(), w.networkGateway(), w.node(),
        w.canonicalName(), w.canonicalRevision(), Workload.WorkloadType.CRONJOB, w.workloadName(), false,
        w.applicationTunnel(), w.services(), w.authorizationPolicies(), w.status(), w.clusterId(), w.locality(),
        w.networkMode(), w.capacity());
    assertThat(Baggage.header(job)).isEqualTo(
        "k8s.cluster.name=c1,k8s.namespace.name=batch,k8s.cronjob.name=nightly,service.name=nightly-app,"
            + "cloud.region=eu-west1,cloud.availability_zone=eu-west1-b");
  }

  @Test
  void headerOmitsEmptyAttributes() {
    Workload w = workload("p", "ns", "sa", "", "", "", "", Optional.of(new Locality("", "z1", "")));
    assertThat(Baggage.header(w)).isEqualTo("k8s.namespace.name=ns,cloud.availability_zone=z1");
  }

  @Test
  void headerPercentEncodesCharactersBaggageDoesNotAllow() {
    Workload w = workload("p", "ns", "sa", "a b,c;d%e\"é", "app", "", "", Optional.empty());
    String header = Baggage.header(w);
    assertThat(header).contains("k8s.deployment.name=a%20b%2Cc%3Bd%25e%22%C3%A9");
    assertThat(Baggage.parse(header)).containsEntry("k8s.deployment.name", "a b,c;d%e\"é");
  }

  @Test
  void headerRoundTripsThroughParse() {
    assertThat(Baggage.parse(Baggage.header(client()))).containsExactly(
        Map.entry(Baggage.CLUSTER, "cluster-a"),
        Map.entry(Baggage.NAMESPACE, "ns-client"),
        Map.entry("k8s.deployment.name", "client-deploy"),
        Map.entry(Baggage.SERVICE_NAME, "client-app"),
        Map.entry(Baggage.SERVICE_VERSION, "v1"));
  }

  static Stream<Arguments> parseTable() {
    return Stream.of(
        Arguments.of("null-like empty", "", Map.of()),
        Arguments.of("one member", "service.name=echo", Map.of("service.name", "echo")),
        Arguments.of("whitespace around members and =", " service.name = echo ,\tk8s.namespace.name=ns ",
            Map.of("service.name", "echo", "k8s.namespace.name", "ns")),
        Arguments.of("properties ignored", "service.name=echo;prop1=x;flag", Map.of("service.name", "echo")),
        Arguments.of("first occurrence wins", "service.name=a,service.name=b", Map.of("service.name", "a")),
        Arguments.of("member without = skipped", "garbage,service.name=a", Map.of("service.name", "a")),
        Arguments.of("empty key skipped", "=x,service.name=a", Map.of("service.name", "a")),
        Arguments.of("empty value skipped", "service.name=,k8s.namespace.name=ns", Map.of("k8s.namespace.name", "ns")),
        Arguments.of("key with space skipped", "bad key=x,service.name=a", Map.of("service.name", "a")),
        Arguments.of("empty members skipped", ",,service.name=a,,", Map.of("service.name", "a")),
        Arguments.of("percent decoding", "service.name=a%2Cb%20c", Map.of("service.name", "a,b c")),
        Arguments.of("broken escape dropped", "service.name=a%2,k8s.namespace.name=ns", Map.of("k8s.namespace.name", "ns")),
        Arguments.of("non-hex escape dropped", "service.name=%zz", Map.of()),
        Arguments.of("decoded control dropped", "service.name=a%0Ab", Map.of()),
        Arguments.of("raw non-ascii dropped", "service.name=é", Map.of()),
        Arguments.of("= inside the value kept", "service.name=a=b", Map.of("service.name", "a=b")),
        Arguments.of("unknown keys kept", "foo=bar", Map.of("foo", "bar")));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("parseTable")
  void parse(String name, String header, Map<String, String> expected) {
    assertThat(Baggage.parse(header)).isEqualTo(expected);
  }

  @Test
  void parseOfNullIsEmpty() {
    assertThat(Baggage.parse(null)).isEmpty();
  }

  @Test
  void parseStopsAtTheMemberLimit() {
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < 500; i++) {
      sb.append("k").append(i).append("=v,");
    }
    Map<String, String> parsed = Baggage.parse(sb);
    assertThat(parsed).hasSize(Baggage.MAX_MEMBERS).containsKey("k0").doesNotContainKey("k" + Baggage.MAX_MEMBERS);
  }

  @Test
  void parseIgnoresBytesBeyondTheLengthLimit() {
    String header = "service.name=" + "a".repeat(Baggage.MAX_LENGTH) + ",k8s.namespace.name=ns";
    assertThat(Baggage.parse(header)).containsOnlyKeys("service.name");
  }

  static Stream<Arguments> workloadNames() {
    return Stream.of(
        Arguments.of(Map.of("k8s.deployment.name", "d"), Optional.of("d")),
        Arguments.of(Map.of("k8s.cronjob.name", "c"), Optional.of("c")),
        Arguments.of(Map.of("k8s.pod.name", "p"), Optional.of("p")),
        Arguments.of(Map.of("k8s.job.name", "j"), Optional.of("j")),
        Arguments.of(Map.of("k8s.statefulset.name", "s"), Optional.empty()),
        Arguments.of(Map.of(), Optional.empty()));
  }

  @ParameterizedTest
  @MethodSource("workloadNames")
  void workloadNameFromAnyWorkloadTypeKey(Map<String, String> attributes, Optional<String> expected) {
    assertThat(Baggage.workloadName(attributes)).isEqualTo(expected);
  }
}
