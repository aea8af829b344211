package dev.ambient.xds.client;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ListValue;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import dev.ambient.xds.api.discovery.Node;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The whole {@code Node} proto for environment + proxyMetadata, as ztunnel builds it (spec §2.3, §3.2):
 * the four base keys, then proxyMetadata overridden by ISTIO_META_* (and overriding the base keys),
 * then ISTIO_METAJSON_*.
 */
class NodeMetadataTableTest {
  private static final Map<String, String> POD = Map.of(
      "INSTANCE_IP", "198.18.0.9", "POD_NAME", "ztunnel-x", "POD_NAMESPACE", "istio-system", "NODE_NAME", "n1");
  private static final String ID = "ztunnel~198.18.0.9~ztunnel-x.istio-system~istio-system.svc.cluster.local";

  static Stream<Arguments> rows() {
    return Stream.of(
        Arguments.of("base keys only", POD, Map.of(), node(ID, base())),
        Arguments.of("proxyMetadata keys become string metadata", POD, Map.of("FOO", "bar", "DNS_CAPTURE", "false"),
            node(ID, base().putFields("FOO", s("bar")).putFields("DNS_CAPTURE", s("false")))),
        Arguments.of("ISTIO_META_ env overrides proxyMetadata", with(POD, "ISTIO_META_FOO", "env"), Map.of("FOO", "pc"),
            node(ID, base().putFields("FOO", s("env")))),
        Arguments.of("env adds keys proxyMetadata lacks", with(POD, "ISTIO_META_CLUSTER_ID", "c1"), Map.of("FOO", "pc"),
            node(ID, base().putFields("CLUSTER_ID", s("c1")).putFields("FOO", s("pc")))),
        Arguments.of("proxyMetadata replaces a base key", POD, Map.of("NAME", "renamed"),
            node(ID, base().putFields("NAME", s("renamed")))),
        Arguments.of("METAJSON overrides both and is typed", with(with(POD, "ISTIO_METAJSON_FOO", "[1,\"a\"]"),
                "ISTIO_META_FOO", "env"), Map.of("FOO", "pc"),
            node(ID, base().putFields("FOO", Value.newBuilder().setListValue(ListValue.newBuilder()
                .addValues(Value.newBuilder().setNumberValue(1)).addValues(s("a"))).build()))),
        Arguments.of("non-JSON METAJSON is skipped", with(POD, "ISTIO_METAJSON_BAD", "{x"), Map.of(), node(ID, base())),
        Arguments.of("other env is not metadata", with(POD, "CLUSTER_ID", "c2"), Map.of(), node(ID, base())),
        Arguments.of("empty env: defaults", Map.of(), Map.of("K", "v"),
            node("ztunnel~1.1.1.1~.~.svc.cluster.local", Struct.newBuilder().putFields("NAME", s(""))
                .putFields("NAMESPACE", s("")).putFields("INSTANCE_IPS", s("1.1.1.1")).putFields("NODE_NAME", s(""))
                .putFields("K", s("v")))));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("rows")
  void node(String name, Map<String, String> env, Map<String, String> proxyMetadata, Node expected) {
    assertThat(NodeInfo.of(env, proxyMetadata).toNode()).isEqualTo(expected);
  }

  static Stream<Arguments> stripRows() {
    return Stream.of(
        Arguments.of(Map.of("ISTIO_META_A", "1", "B", "2"), Map.of("A", "1", "B", "2")),
        Arguments.of(Map.of("ISTIO_META_A", "prefixed", "A", "bare"), Map.of("A", "prefixed")),
        Arguments.of(Map.of("ISTIO_METAJSON_X", "{}"), Map.of("ISTIO_METAJSON_X", "{}")),
        Arguments.of(Map.of("ISTIO_META_", "empty"), Map.of()));
  }

  @ParameterizedTest
  @MethodSource("stripRows")
  void stripMetaPrefix(Map<String, String> in, Map<String, String> expected) {
    assertThat(NodeInfo.stripMetaPrefix(in)).isEqualTo(expected);
  }

  private static Struct.Builder base() {
    return Struct.newBuilder().putFields("NAME", s("ztunnel-x")).putFields("NAMESPACE", s("istio-system"))
        .putFields("INSTANCE_IPS", s("198.18.0.9")).putFields("NODE_NAME", s("n1"));
  }

  private static Node node(String id, Struct.Builder md) {
    return Node.newBuilder().setId(id).setMetadata(md).build();
  }

  private static Value s(String v) {
    return Value.newBuilder().setStringValue(v).build();
  }

  private static Map<String, String> with(Map<String, String> m, String k, String v) {
    var copy = new java.util.HashMap<>(m);
    copy.put(k, v);
    return copy;
  }
}
