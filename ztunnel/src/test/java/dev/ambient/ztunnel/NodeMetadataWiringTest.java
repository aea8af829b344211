package dev.ambient.ztunnel;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import dev.ambient.xds.api.Rpc;
import dev.ambient.xds.api.discovery.DeltaDiscoveryRequest;
import dev.ambient.xds.api.discovery.Node;
import dev.ambient.xds.client.XdsChannelFactory;
import dev.ambient.xds.client.XdsClient;
import dev.ambient.xds.server.DeltaAdsServer;
import dev.ambient.xds.server.ResourceStore;
import io.grpc.ForwardingServerCallListener;
import io.grpc.InsecureServerCredentials;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.netty.NettyServerBuilder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Mesh config {@code defaultConfig.proxyMetadata}, {@code PROXY_CONFIG} and {@code ISTIO_META_*} into the
 * xDS {@code Node} (spec §2.3, §3.2): precedence mesh &lt; PROXY_CONFIG &lt; env, prefix stripped, keys without
 * the prefix kept; then over a real gRPC stream to the control plane's ADS service.
 */
class NodeMetadataWiringTest {
  private static final Map<String, String> POD = Map.of("POD_NAME", "zt", "POD_NAMESPACE", "istio-system",
      "INSTANCE_IP", "198.18.0.7", "NODE_NAME", "node-a");

  static Stream<Arguments> rows() {
    return Stream.of(
        Arguments.of("mesh config only", "defaultConfig:\n  proxyMetadata:\n    ISTIO_META_FOO: mesh\n    BAR: b\n",
            Map.of(), Map.of("FOO", "mesh", "BAR", "b")),
        Arguments.of("PROXY_CONFIG overrides mesh key by key", "defaultConfig: {proxyMetadata: {FOO: mesh, KEEP: k}}",
            Map.of("PROXY_CONFIG", "proxyMetadata: {ISTIO_META_FOO: pc}"), Map.of("FOO", "pc", "KEEP", "k")),
        Arguments.of("env ISTIO_META_ overrides both", "defaultConfig: {proxyMetadata: {FOO: mesh}}",
            Map.of("PROXY_CONFIG", "{\"proxyMetadata\": {\"FOO\": \"pc\"}}", "ISTIO_META_FOO", "env"),
            Map.of("FOO", "env")),
        Arguments.of("prefixed beats bare in one merged map", "defaultConfig: {proxyMetadata: {ISTIO_META_X: p}}",
            Map.of("PROXY_CONFIG", "proxyMetadata: {X: bare}"), Map.of("X", "p")),
        Arguments.of("other mesh config fields are ignored", "trustDomain: td\ndefaultConfig:\n  tracing: {}\n",
            Map.of("ISTIO_META_DNS_CAPTURE", "false"), Map.of("DNS_CAPTURE", "false")),
        Arguments.of("no mesh config", null, Map.of("PROXY_CONFIG", "proxyMetadata: {NO_PREFIX: v}"),
            Map.of("NO_PREFIX", "v")));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("rows")
  void nodeMetadata(String name, @Nullable String mesh, Map<String, String> env, Map<String, String> extra) {
    Map<String, String> all = new HashMap<>(POD);
    all.putAll(env);
    ZtunnelConfig c = ZtunnelConfig.fromEnvironment(all, 4, mesh);
    Map<String, String> expected = new TreeMap<>(Map.of("NAME", "zt", "NAMESPACE", "istio-system",
        "INSTANCE_IPS", "198.18.0.7", "NODE_NAME", "node-a"));
    expected.putAll(extra);
    Node node = c.node().toNode();
    assertThat(node.getId()).isEqualTo("ztunnel~198.18.0.7~zt.istio-system~istio-system.svc.cluster.local");
    assertThat(strings(node.getMetadata())).isEqualTo(expected);
  }

  @Test
  void meshConfigDiscoveryAddressAndPorts_PROXY_CONFIGWinsFieldByField() {
    ZtunnelConfig c = ZtunnelConfig.fromEnvironment(Map.of("PROXY_CONFIG", "statsPort: 16020"), 4,
        "defaultConfig: {discoveryAddress: 'istiod.rev:15012', proxyAdminPort: 16000, statsPort: 1}");
    assertThat(c.xds().address()).contains("https://istiod.rev:15012");
    assertThat(c.listeners().admin().port()).isEqualTo(16000);
    assertThat(c.listeners().stats().port()).isEqualTo(16020);
  }

  @Test
  void badMeshConfig_isAStartupProblem() {
    assertThatThrownBy(() -> ZtunnelConfig.fromEnvironment(Map.of(), 4, "defaultConfig: [1]"))
        .isInstanceOf(ZtunnelConfigException.class).hasMessageContaining("mesh config")
        .hasMessageContaining("defaultConfig must be a ProxyConfig object");
    assertThatThrownBy(() -> ZtunnelConfig.fromEnvironment(Map.of(), 4, "defaultConfig: {proxyMetadata: {A: [1]}}"))
        .isInstanceOf(ZtunnelConfigException.class).hasMessageContaining("defaultConfig.proxyMetadata.A");
  }

  @Test
  void readMeshConfig_missingFileIsNone(@TempDir Path dir) throws Exception {
    assertThat(ZtunnelConfig.readMeshConfig(dir.resolve("mesh"))).isNull();
    Files.writeString(dir.resolve("mesh"), "defaultConfig: {}\n");
    assertThat(ZtunnelConfig.readMeshConfig(dir.resolve("mesh"))).isEqualTo("defaultConfig: {}\n");
  }

  /** The node the control plane receives: in both initial requests, exactly the config's node; never in ACKs. */
  @Test
  void nodeOverARealStream_reachesTheControlPlane() throws Exception {
    Map<String, String> env = new HashMap<>(POD);
    env.put("PROXY_CONFIG", "proxyMetadata: {ISTIO_META_FOO: pc, BAR: bar}");
    env.put("ISTIO_META_FOO", "env");
    env.put("ISTIO_METAJSON_LABELS", "{\"app\":\"zt\"}");
    ZtunnelConfig config = ZtunnelConfig.fromEnvironment(env, 4, "defaultConfig: {proxyMetadata: {MESH: m}}");

    List<DeltaDiscoveryRequest> seen = new CopyOnWriteArrayList<>();
    ServerInterceptor capture = new ServerInterceptor() {
      @Override
      public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata h, ServerCallHandler<Q, R> next) {
        return new ForwardingServerCallListener.SimpleForwardingServerCallListener<>(next.startCall(call, h)) {
          @Override
          public void onMessage(Q message) {
            seen.add((DeltaDiscoveryRequest) message);
            super.onMessage(message);
          }
        };
      }
    };
    Server server = NettyServerBuilder.forAddress(new java.net.InetSocketAddress("127.0.0.1", 0),
            InsecureServerCredentials.create())
        .addService(ServerInterceptors.intercept(DeltaAdsServer.of(new ResourceStore()).bindService(), capture))
        .build().start();
    try (XdsClient client = XdsClient.builder().node(config.node())
        .channelFactory(XdsChannelFactory.plaintext("127.0.0.1", server.getPort())).build()) {
      client.start();
      client.synced().get(10, TimeUnit.SECONDS);
      long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
      while (seen.size() < 4 && System.nanoTime() < deadline) { // two initial requests, two ACKs
        Thread.sleep(10);
      }
    } finally {
      server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
    List<DeltaDiscoveryRequest> withNode = seen.stream().filter(DeltaDiscoveryRequest::hasNode).toList();
    assertThat(withNode).extracting(DeltaDiscoveryRequest::getTypeUrl)
        .containsExactly(Rpc.TYPE_ADDRESS, Rpc.TYPE_AUTHORIZATION);
    Node node = withNode.getFirst().getNode();
    assertThat(withNode.get(1).getNode()).isEqualTo(node);
    assertThat(node.getId()).isEqualTo("ztunnel~198.18.0.7~zt.istio-system~istio-system.svc.cluster.local");
    Map<String, Value> md = node.getMetadata().getFieldsMap();
    assertThat(md.keySet()).containsExactlyInAnyOrder("NAME", "NAMESPACE", "INSTANCE_IPS", "NODE_NAME",
        "FOO", "BAR", "MESH", "LABELS");
    assertThat(md.get("FOO").getStringValue()).isEqualTo("env");
    assertThat(md.get("BAR").getStringValue()).isEqualTo("bar");
    assertThat(md.get("MESH").getStringValue()).isEqualTo("m");
    assertThat(md.get("NODE_NAME").getStringValue()).isEqualTo("node-a");
    assertThat(md.get("LABELS").getStructValue().getFieldsOrThrow("app").getStringValue()).isEqualTo("zt");
    assertThat(node).isEqualTo(config.node().toNode());
  }

  private static Map<String, String> strings(Struct s) {
    return s.getFieldsMap().entrySet().stream()
        .collect(Collectors.toMap(Map.Entry::getKey, e -> e.getValue().getStringValue(), (a, b) -> a, TreeMap::new));
  }
}
