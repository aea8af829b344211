package dev.ambient.ztunnel.telemetry;

import static dev.ambient.ztunnel.telemetry.TelemetryFixtures.inboundDerived;
import static dev.ambient.ztunnel.telemetry.TelemetryFixtures.outboundHbone;
import static dev.ambient.ztunnel.telemetry.TelemetryFixtures.outboundPassthrough;
import static dev.ambient.ztunnel.telemetry.TelemetryFixtures.sock;
import static org.assertj.core.api.Assertions.assertThat;

import dev.ambient.ztunnel.telemetry.AccessLogFields.Field;
import dev.ambient.ztunnel.telemetry.AccessLogFields.Kind;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class AccessLogFieldsTest {
  private static List<Field> complete(ConnectionFacts facts, long c2s, long s2c, long millis, String error) {
    return AccessLogFields.complete(facts, TrafficLabels.of(facts), c2s, s2c, millis, error);
  }

  @Test
  void outboundCompletePlainMatchesTheSpecShape() {
    String line = AccessLogFields.plain(AccessLogFields.COMPLETE, complete(outboundHbone(), 67, 490, 13, null));
    assertThat(line).isEqualTo("connection complete\t"
        + "src.addr=198.18.0.1:46238 src.workload=\"client-7d9f-abcde\" src.namespace=\"ns-client\" "
        + "src.identity=\"spiffe://cluster.local/ns/ns-client/sa/sa-client\" src.cluster=\"cluster-a\" "
        + "dst.addr=198.18.0.2:15008 dst.hbone_addr=198.19.0.10:80 dst.service=\"echo.ns-server.svc.cluster.local\" "
        + "dst.workload=\"server-5c4b-xyz12\" dst.namespace=\"ns-server\" "
        + "dst.identity=\"spiffe://cluster.local/ns/ns-server/sa/sa-server\" dst.cluster=\"cluster-b\" "
        + "direction=\"outbound\" bytes_sent=67 bytes_recv=490 duration=\"13ms\"");
  }

  @Test
  void outboundCompleteJson() {
    String json = AccessLogFields.json(AccessLogFields.COMPLETE, complete(outboundHbone(), 67, 490, 13, null));
    assertThat(json).isEqualTo("{\"message\":\"connection complete\","
        + "\"src.addr\":\"198.18.0.1:46238\",\"src.workload\":\"client-7d9f-abcde\",\"src.namespace\":\"ns-client\","
        + "\"src.identity\":\"spiffe://cluster.local/ns/ns-client/sa/sa-client\",\"src.cluster\":\"cluster-a\","
        + "\"dst.addr\":\"198.18.0.2:15008\",\"dst.hbone_addr\":\"198.19.0.10:80\","
        + "\"dst.service\":\"echo.ns-server.svc.cluster.local\",\"dst.workload\":\"server-5c4b-xyz12\","
        + "\"dst.namespace\":\"ns-server\",\"dst.identity\":\"spiffe://cluster.local/ns/ns-server/sa/sa-server\","
        + "\"dst.cluster\":\"cluster-b\",\"direction\":\"outbound\",\"bytes_sent\":67,\"bytes_recv\":490,"
        + "\"duration\":\"13ms\"}");
  }

  /** Outbound: sent = client→server; inbound: sent = server→client (what this proxy sent on the mesh hop). */
  @ParameterizedTest
  @CsvSource({"SOURCE, 100, 7, 100, 7", "DESTINATION, 100, 7, 7, 100"})
  void bytesAreFlippedForInbound(Reporter reporter, long c2s, long s2c, String sent, String recv) {
    ConnectionFacts f = outboundHbone();
    ConnectionFacts facts = new ConnectionFacts(reporter, f.source(), f.destination(), f.hboneAuthority(),
        f.sourceWorkload(), f.sourceIdentity(), f.destinationWorkload(), f.destinationIdentity(),
        f.destinationService(), f.securityPolicy(), Map.of());
    Map<String, String> fields = asMap(complete(facts, c2s, s2c, 0, null));
    assertThat(fields).containsEntry("bytes_sent", sent).containsEntry("bytes_recv", recv)
        .containsEntry("direction", reporter.direction());
  }

  @Test
  void passthroughOmitsUnknownFieldsAndIdentities() {
    List<Field> fields = complete(outboundPassthrough(), 1, 2, 5, null);
    assertThat(fields).extracting(Field::key).containsExactly("src.addr", "src.workload", "src.namespace",
        "src.cluster", "dst.addr", "direction", "bytes_sent", "bytes_recv", "duration");
  }

  @Test
  void identitiesOnlyForMutualTls() {
    ConnectionFacts f = outboundHbone();
    ConnectionFacts plain = new ConnectionFacts(f.reporter(), f.source(), f.destination(), f.hboneAuthority(),
        f.sourceWorkload(), f.sourceIdentity(), f.destinationWorkload(), f.destinationIdentity(),
        f.destinationService(), SecurityPolicy.UNKNOWN, Map.of());
    assertThat(complete(plain, 0, 0, 0, null)).extracting(Field::key)
        .doesNotContain("src.identity", "dst.identity").contains("src.workload", "dst.workload");
  }

  @Test
  void derivedSourceWorkloadFallsBackToTheCanonicalService() {
    Map<String, String> fields = asMap(AccessLogFields.opened(inboundDerived(Map.of("service.name", "curl")),
        TrafficLabels.of(inboundDerived(Map.of("service.name", "curl")))));
    assertThat(fields).containsEntry("src.workload", "curl").containsEntry("src.namespace", "ns-client")
        .containsEntry("direction", "inbound").doesNotContainKeys("bytes_sent", "duration", "error");
  }

  @Test
  void failureAddsTheErrorLast() {
    List<Field> fields = complete(outboundHbone(), 0, 0, 1500, "http status: 503 Service Unavailable");
    assertThat(fields.getLast()).isEqualTo(new Field("error", "http status: 503 Service Unavailable", Kind.STRING));
    assertThat(asMap(fields)).containsEntry("duration", "1500ms");
  }

  @Test
  void connectionFailedHasOnlyTheEarlyFields() {
    List<Field> fields = AccessLogFields.failed(Reporter.DESTINATION, sock("2001:db8::1", 5555),
        sock("198.18.0.2", 15006), "self call");
    assertThat(AccessLogFields.plain(AccessLogFields.FAILED, fields)).isEqualTo(
        "connection failed\tsrc.addr=[2001:db8::1]:5555 dst.addr=198.18.0.2:15006 direction=\"inbound\" "
            + "error=\"self call\"");
  }

  @Test
  void ipv6AddressesUseTheCompressedBracketedForm() {
    ConnectionFacts f = outboundPassthrough();
    ConnectionFacts v6 = new ConnectionFacts(f.reporter(), sock("2001:db8:0:0:0:0:0:a", 40000),
        sock("2001:db8::2", 443), Optional.of("[2001:db8::2]:443"), f.sourceWorkload(), f.sourceIdentity(),
        f.destinationWorkload(), f.destinationIdentity(), f.destinationService(), f.securityPolicy(), Map.of());
    Map<String, String> fields = asMap(AccessLogFields.opened(v6, TrafficLabels.of(v6)));
    assertThat(fields).containsEntry("src.addr", "[2001:db8::a]:40000").containsEntry("dst.addr", "[2001:db8::2]:443")
        .containsEntry("dst.hbone_addr", "[2001:db8::2]:443");
  }

  @Test
  void unresolvedAddressesStillRender() {
    List<Field> fields = AccessLogFields.failed(Reporter.SOURCE, InetSocketAddress.createUnresolved("h.example", 1),
        sock("198.18.0.2", 2), "e");
    assertThat(fields.getFirst().value()).isEqualTo("h.example:1");
  }

  @Test
  void plainEscapesStrings() {
    String line = AccessLogFields.plain("m", List.of(new Field("error", "a\"b\\c\nd\te\u0001", Kind.STRING)));
    assertThat(line).isEqualTo("m\terror=\"a\\\"b\\\\c\\nd\\te\\u{1}\"");
  }

  @Test
  void jsonEscapesStringsAndKeepsNumbersBare() {
    String json = AccessLogFields.json("m\"", List.of(new Field("error", "x\ny\u0001\u2028", Kind.STRING),
        new Field("bytes_sent", "5", Kind.NUMBER), new Field("src.addr", "198.18.0.1:1", Kind.ADDRESS)));
    assertThat(json).isEqualTo(
        "{\"message\":\"m\\\"\",\"error\":\"x\\ny\\u0001\\u2028\",\"bytes_sent\":5,\"src.addr\":\"198.18.0.1:1\"}");
  }

  @Test
  void negativeCountsAndDurationsClampToZero() {
    Map<String, String> fields = asMap(complete(outboundHbone(), -1, -2, -3, null));
    assertThat(fields).containsEntry("bytes_sent", "0").containsEntry("bytes_recv", "0")
        .containsEntry("duration", "0ms");
  }

  private static Map<String, String> asMap(List<Field> fields) {
    Map<String, String> m = new java.util.LinkedHashMap<>();
    fields.forEach(f -> m.put(f.key(), f.value()));
    return m;
  }
}
