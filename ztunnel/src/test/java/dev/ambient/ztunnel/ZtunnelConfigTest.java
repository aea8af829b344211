package dev.ambient.ztunnel;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.ambient.hbone.Http2Config;
import dev.ambient.xds.ca.TokenSource;
import dev.ambient.ztunnel.ZtunnelConfig.CompliancePolicy;
import dev.ambient.ztunnel.ZtunnelConfig.ListenAddress;
import dev.ambient.ztunnel.ZtunnelConfig.LocalXds;
import dev.ambient.ztunnel.ZtunnelConfig.LogFormat;
import dev.ambient.ztunnel.ZtunnelConfig.OrigSrc;
import dev.ambient.ztunnel.ZtunnelConfig.ProxyMode;
import dev.ambient.ztunnel.ZtunnelConfig.WorkloadInfo;
import dev.ambient.ztunnel.ZtunnelConfigException.Problem;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

class ZtunnelConfigTest {
  private static final int CPUS = 8;

  private static ZtunnelConfig parse(Map<String, String> env) {
    return ZtunnelConfig.fromEnvironment(env, CPUS);
  }

  private static Map<String, String> env(String... kv) {
    Map<String, String> m = new HashMap<>();
    for (int i = 0; i < kv.length; i += 2) {
      m.put(kv[i], kv[i + 1]);
    }
    return m;
  }

  private static Arguments row(String name, Function<ZtunnelConfig, Object> get, Object expected) {
    return Arguments.of(name, get, expected);
  }

  // ---------------------------------------------------------------- defaults

  static Stream<Arguments> defaults() {
    return Stream.of(
        row("PROXY_MODE", ZtunnelConfig::proxyMode, ProxyMode.SHARED),
        row("PROXY_WORKLOAD_INFO", ZtunnelConfig::workloadInfo, Optional.empty()),
        row("XDS_ADDRESS", c -> c.xds().address(), Optional.of("https://localhost:15012")),
        row("CA_ADDRESS", c -> c.ca().address(), Optional.of("https://localhost:15012")),
        row("XDS_ROOT_CA", c -> c.xds().rootCa(), "./var/run/secrets/istio/root-cert.pem"),
        row("CA_ROOT_CA", c -> c.ca().rootCa(), "./var/run/secrets/istio/root-cert.pem"),
        row("ALT_XDS_HOSTNAME", c -> c.xds().altHostname(), Optional.empty()),
        row("ALT_CA_HOSTNAME", c -> c.ca().altHostname(), Optional.empty()),
        row("XDS_HEADER_*", c -> c.xds().headers(), Map.of()),
        row("CA_HEADER_*", c -> c.ca().headers(), Map.of()),
        row("FAKE_CA", ZtunnelConfig::fakeCa, false),
        row("AUTH_TOKEN", c -> c.authToken().setting(), Optional.empty()),
        row("CLUSTER_ID", c -> c.identity().clusterId(), "Kubernetes"),
        row("CLUSTER_DOMAIN", c -> c.identity().clusterDomain(), "cluster.local"),
        row("NETWORK", c -> c.identity().network(), ""),
        row("NODE_NAME", c -> c.identity().nodeName(), Optional.empty()),
        row("INSTANCE_IP", c -> c.identity().instanceIp(), Optional.empty()),
        row("POD_NAME", c -> c.identity().podName(), Optional.empty()),
        row("POD_NAMESPACE", c -> c.identity().podNamespace(), Optional.empty()),
        row("SERVICE_ACCOUNT", c -> c.identity().serviceAccount(), Optional.empty()),
        row("TRUST_DOMAIN", c -> c.identity().trustDomain(), "cluster.local"),
        row("self identity", c -> c.identity().selfSpiffeId(), Optional.empty()),
        row("node id", c -> c.node().id(), "ztunnel~1.1.1.1~.~.svc.cluster.local"),
        row("ISTIO_META_ISTIO_VERSION", ZtunnelConfig::istioVersion, "unknown"),
        row("XDS_ON_DEMAND", ZtunnelConfig::xdsOnDemand, false),
        row("LOCAL_XDS_PATH/LOCAL_XDS", ZtunnelConfig::localXds, new LocalXds.None()),
        row("SECRET_TTL", ZtunnelConfig::secretTtl, Duration.ofHours(24)),
        row("ENABLE_PROXY", ZtunnelConfig::proxyEnabled, true),
        row("IPV6_ENABLED", ZtunnelConfig::ipv6Enabled, true),
        row("outbound", c -> c.listeners().outbound(), new ListenAddress("::", 15001)),
        row("inbound plaintext", c -> c.listeners().inboundPlaintext(), new ListenAddress("::", 15006)),
        row("inbound", c -> c.listeners().inbound(), new ListenAddress("::", 15008)),
        row("admin", c -> c.listeners().admin(), new ListenAddress("localhost", 15000)),
        row("stats", c -> c.listeners().stats(), new ListenAddress("::", 15020)),
        row("readiness", c -> c.listeners().readiness(), new ListenAddress("::", 15021)),
        row("UNSTABLE_ENABLE_SOCKS5", c -> c.listeners().socks5(), Optional.empty()),
        row("ISTIO_META_DNS_CAPTURE", c -> c.dns().enabled(), true),
        row("ISTIO_META_DNS_PROXY_ADDR", c -> c.dns().address(), new ListenAddress("localhost", 15053)),
        row("PREFERED_SERVICE_NAMESPACE", c -> c.dns().preferredServiceNamespace(), Optional.empty()),
        row("INPOD_UDS", c -> c.inPod().uds(), "/var/run/ztunnel/ztunnel.sock"),
        row("INPOD_PORT_REUSE", c -> c.inPod().portReuse(), true),
        row("PACKET_MARK", ZtunnelConfig::packetMark, Optional.of(1337)),
        row("ENABLE_ORIG_SRC", ZtunnelConfig::origSrc, OrigSrc.AUTO),
        row("KEEPALIVE_ENABLED", c -> c.keepalive().enabled(), true),
        row("KEEPALIVE_TIME", c -> c.keepalive().time(), Duration.ofSeconds(180)),
        row("KEEPALIVE_INTERVAL", c -> c.keepalive().interval(), Duration.ofSeconds(180)),
        row("KEEPALIVE_RETRIES", c -> c.keepalive().retries(), 9),
        row("USER_TIMEOUT_ENABLED", c -> c.keepalive().userTimeout(), Optional.empty()),
        row("HTTP2_STREAM_WINDOW_SIZE", c -> c.hbone().client().streamWindow(), 4_194_304),
        row("HTTP2_CONNECTION_WINDOW_SIZE", c -> c.hbone().client().connectionWindow(), 16_777_216),
        row("HTTP2_FRAME_SIZE", c -> c.hbone().client().maxFrameSize(), 1_048_576),
        row("server http2", c -> c.hbone().server(), Http2Config.serverDefaults()),
        row("client http2", c -> c.hbone().client(), Http2Config.clientDefaults()),
        row("POOL_MAX_STREAMS_PER_CONNECTION", c -> c.hbone().pool().maxStreamsPerConnection(), 100),
        row("POOL_UNUSED_RELEASE_TIMEOUT", c -> c.hbone().pool().idleTimeout(), Duration.ofMinutes(5)),
        row("pool http2", c -> c.hbone().pool().http2(), Http2Config.clientDefaults()),
        row("CONNECTION_TERMINATION_DEADLINE", ZtunnelConfig::terminationDeadline, Duration.ofSeconds(5)),
        row("ZTUNNEL_WORKER_THREADS", ZtunnelConfig::workerThreads, 2),
        row("TLS12_ENABLED", c -> c.tls().tls12Enabled(), false),
        row("COMPLIANCE_POLICY", c -> c.tls().compliancePolicy(), CompliancePolicy.NONE),
        row("CRL_PATH", c -> c.tls().crlPath(), Optional.empty()),
        row("RUST_LOG", c -> c.logging().filter(), "info"),
        row("LOG_FORMAT", c -> c.logging().format(), LogFormat.PLAIN),
        row("AUTHZ_POLICY_INFO_LOGGING", c -> c.logging().authzPolicyInfo(), false),
        row("ENABLE_RESPONSE_BAGGAGE", ZtunnelConfig::enableResponseBaggage, true),
        row("LOCALHOST_APP_TUNNEL", ZtunnelConfig::localhostAppTunnel, true),
        row("PROXY_CONFIG", ZtunnelConfig::proxyConfig,
            new ZtunnelConfig.ProxyConfig(Optional.empty(), 15000, 15020, Optional.empty(), Map.of())));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("defaults")
  void emptyEnvironment_givesTheDefault(String variable, Function<ZtunnelConfig, Object> get, Object expected) {
    assertThat(get.apply(parse(Map.of()))).isEqualTo(expected);
  }

  // ---------------------------------------------------------------- every variable parsed

  static Stream<Arguments> parsed() {
    return Stream.of(
        Arguments.of(env("PROXY_MODE", "dedicated", "PROXY_WORKLOAD_INFO", "ns/pod/sa"),
            (Function<ZtunnelConfig, Object>) ZtunnelConfig::proxyMode, ProxyMode.DEDICATED),
        Arguments.of(env("PROXY_MODE", "shared"), f(ZtunnelConfig::proxyMode), ProxyMode.SHARED),
        Arguments.of(env("PROXY_MODE", "dedicated", "PROXY_WORKLOAD_INFO", "ns/pod/sa"),
            f(ZtunnelConfig::workloadInfo), Optional.of(new WorkloadInfo("ns", "pod", "sa"))),
        Arguments.of(env("PROXY_WORKLOAD_INFO", "a/b/c"), f(ZtunnelConfig::workloadInfo),
            Optional.of(new WorkloadInfo("a", "b", "c"))),
        Arguments.of(env("XDS_ADDRESS", "https://istiod:15012"), f(c -> c.xds().address()),
            Optional.of("https://istiod:15012")),
        Arguments.of(env("CA_ADDRESS", "ca.example:15012"), f(c -> c.ca().address()),
            Optional.of("https://ca.example:15012")),
        Arguments.of(env("XDS_ROOT_CA", "SYSTEM"), f(c -> c.xds().rootCa()), "SYSTEM"),
        Arguments.of(env("CA_ROOT_CA", "/etc/ca.pem"), f(c -> c.ca().rootCa()), "/etc/ca.pem"),
        Arguments.of(env("ALT_XDS_HOSTNAME", "istiod.alt"), f(c -> c.xds().altHostname()), Optional.of("istiod.alt")),
        Arguments.of(env("ALT_CA_HOSTNAME", "ca.alt"), f(c -> c.ca().altHostname()), Optional.of("ca.alt")),
        Arguments.of(env("XDS_HEADER_X-Tenant", "a", "XDS_HEADER_foo", "b"), f(c -> c.xds().headers()),
            Map.of("x-tenant", "a", "foo", "b")),
        Arguments.of(env("CA_HEADER_Auth-Extra", "v", "XDS_HEADER_other", "w"), f(c -> c.ca().headers()),
            Map.of("auth-extra", "v")),
        Arguments.of(env("FAKE_CA", "true"), f(ZtunnelConfig::fakeCa), true),
        Arguments.of(env("AUTH_TOKEN", "/nonexistent/token"), f(c -> c.authToken().setting()),
            Optional.of("/nonexistent/token")),
        Arguments.of(env("CLUSTER_ID", "c1"), f(c -> c.identity().clusterId()), "c1"),
        Arguments.of(env("ISTIO_META_CLUSTER_ID", "meta", "CLUSTER_ID", "plain"), f(c -> c.identity().clusterId()),
            "meta"),
        Arguments.of(env("CLUSTER_DOMAIN", "corp.local"), f(c -> c.identity().clusterDomain()), "corp.local"),
        Arguments.of(env("NETWORK", "net1"), f(c -> c.identity().network()), "net1"),
        Arguments.of(env("NODE_NAME", "node-1"), f(c -> c.identity().nodeName()), Optional.of("node-1")),
        Arguments.of(env("INSTANCE_IP", "198.18.0.7"), f(c -> c.identity().instanceIp()), Optional.of("198.18.0.7")),
        Arguments.of(env("INSTANCE_IP", "2001:db8::7"), f(c -> c.identity().instanceIp()), Optional.of("2001:db8::7")),
        Arguments.of(env("POD_NAME", "zt-1"), f(c -> c.identity().podName()), Optional.of("zt-1")),
        Arguments.of(env("POD_NAMESPACE", "istio-system"), f(c -> c.identity().podNamespace()),
            Optional.of("istio-system")),
        Arguments.of(env("SERVICE_ACCOUNT", "ztunnel"), f(c -> c.identity().serviceAccount()), Optional.of("ztunnel")),
        Arguments.of(env("TRUST_DOMAIN", "td.example"), f(c -> c.identity().trustDomain()), "td.example"),
        Arguments.of(env("POD_NAMESPACE", "istio-system", "SERVICE_ACCOUNT", "ztunnel", "POD_NAME", "zt-1",
            "TRUST_DOMAIN", "td"), f(c -> c.identity().selfSpiffeId()),
            Optional.of("spiffe://td/ns/istio-system/sa/ztunnel")),
        Arguments.of(env("POD_NAMESPACE", "istio-system", "SERVICE_ACCOUNT", "ztunnel"),
            f(c -> c.identity().selfSpiffeId()), Optional.empty()),
        Arguments.of(env("INSTANCE_IP", "198.18.0.7", "POD_NAME", "zt", "POD_NAMESPACE", "ns"), f(c -> c.node().id()),
            "ztunnel~198.18.0.7~zt.ns~ns.svc.cluster.local"),
        Arguments.of(env("ISTIO_META_FOO", "bar"),
            f(c -> c.node().metadata().getFieldsOrThrow("FOO").getStringValue()), "bar"),
        Arguments.of(env("ISTIO_METAJSON_LABELS", "{\"app\":\"x\"}"),
            f(c -> c.node().metadata().getFieldsOrThrow("LABELS").getStructValue().getFieldsOrThrow("app")
                .getStringValue()), "x"),
        Arguments.of(env("ISTIO_META_ISTIO_VERSION", "1.28.0"), f(ZtunnelConfig::istioVersion), "1.28.0"),
        Arguments.of(env("XDS_ON_DEMAND", "true", "ISTIO_META_DNS_CAPTURE", "false"), f(ZtunnelConfig::xdsOnDemand),
            true),
        Arguments.of(env("LOCAL_XDS_PATH", "./examples/localhost.yaml"), f(ZtunnelConfig::localXds),
            new LocalXds.FromFile("./examples/localhost.yaml")),
        Arguments.of(env("LOCAL_XDS", "workloads: []"), f(ZtunnelConfig::localXds), new LocalXds.Inline("workloads: []")),
        Arguments.of(env("SECRET_TTL", "1h"), f(ZtunnelConfig::secretTtl), Duration.ofHours(1)),
        Arguments.of(env("ENABLE_PROXY", "false"), f(ZtunnelConfig::proxyEnabled), false),
        Arguments.of(env("IPV6_ENABLED", "false"), f(ZtunnelConfig::ipv6Enabled), false),
        Arguments.of(env("IPV6_ENABLED", "false"), f(c -> c.listeners().inbound()), new ListenAddress("0.0.0.0", 15008)),
        Arguments.of(env("IPV6_ENABLED", "false"), f(c -> c.listeners().outbound()),
            new ListenAddress("0.0.0.0", 15001)),
        Arguments.of(env("UNSTABLE_ENABLE_SOCKS5", "true"), f(c -> c.listeners().socks5()),
            Optional.of(new ListenAddress("127.0.0.1", 15080))),
        Arguments.of(env("ISTIO_META_DNS_CAPTURE", "false"), f(c -> c.dns().enabled()), false),
        Arguments.of(env("ISTIO_META_DNS_CAPTURE", "TRUE"), f(c -> c.dns().enabled()), true),
        Arguments.of(env("ISTIO_META_DNS_CAPTURE", "no"), f(c -> c.dns().enabled()), false),
        Arguments.of(env("ISTIO_META_DNS_PROXY_ADDR", "localhost:5353"), f(c -> c.dns().address()),
            new ListenAddress("localhost", 5353)),
        Arguments.of(env("ISTIO_META_DNS_PROXY_ADDR", "127.0.0.1:15053"), f(c -> c.dns().address()),
            new ListenAddress("127.0.0.1", 15053)),
        Arguments.of(env("ISTIO_META_DNS_PROXY_ADDR", "[::1]:53"), f(c -> c.dns().address()),
            new ListenAddress("::1", 53)),
        Arguments.of(env("PREFERED_SERVICE_NAMESPACE", "istio-system"), f(c -> c.dns().preferredServiceNamespace()),
            Optional.of("istio-system")),
        Arguments.of(env("INPOD_UDS", "/tmp/zds.sock"), f(c -> c.inPod().uds()), "/tmp/zds.sock"),
        Arguments.of(env("INPOD_PORT_REUSE", "false"), f(c -> c.inPod().portReuse()), false),
        Arguments.of(env("PACKET_MARK", "42"), f(ZtunnelConfig::packetMark), Optional.of(42)),
        Arguments.of(env("PACKET_MARK", "0x539"), f(ZtunnelConfig::packetMark), Optional.of(1337)),
        Arguments.of(env("PACKET_MARK", "4294967295"), f(ZtunnelConfig::packetMark), Optional.of(-1)),
        Arguments.of(env("PROXY_MODE", "dedicated", "PROXY_WORKLOAD_INFO", "a/b/c"), f(ZtunnelConfig::packetMark),
            Optional.empty()),
        Arguments.of(env("PROXY_MODE", "dedicated", "PROXY_WORKLOAD_INFO", "a/b/c", "PACKET_MARK", "7"),
            f(ZtunnelConfig::packetMark), Optional.of(7)),
        Arguments.of(env("ENABLE_ORIG_SRC", "true"), f(ZtunnelConfig::origSrc), OrigSrc.ENABLED),
        Arguments.of(env("ENABLE_ORIG_SRC", "false"), f(ZtunnelConfig::origSrc), OrigSrc.DISABLED),
        Arguments.of(env("KEEPALIVE_ENABLED", "false"), f(c -> c.keepalive().enabled()), false),
        Arguments.of(env("KEEPALIVE_TIME", "30s"), f(c -> c.keepalive().time()), Duration.ofSeconds(30)),
        Arguments.of(env("KEEPALIVE_INTERVAL", "10s"), f(c -> c.keepalive().interval()), Duration.ofSeconds(10)),
        Arguments.of(env("KEEPALIVE_RETRIES", "3"), f(c -> c.keepalive().retries()), 3),
        Arguments.of(env("USER_TIMEOUT_ENABLED", "true"), f(c -> c.keepalive().userTimeout()),
            Optional.of(Duration.ofSeconds(180 + 9 * 180))),
        Arguments.of(env("USER_TIMEOUT_ENABLED", "true", "KEEPALIVE_TIME", "10s", "KEEPALIVE_INTERVAL", "2s",
            "KEEPALIVE_RETRIES", "3"), f(c -> c.keepalive().userTimeout()), Optional.of(Duration.ofSeconds(16))),
        Arguments.of(env("HTTP2_STREAM_WINDOW_SIZE", "65535"), f(c -> c.hbone().client().streamWindow()), 65_535),
        Arguments.of(env("HTTP2_STREAM_WINDOW_SIZE", "1048576"), f(c -> c.hbone().server().streamWindow()),
            1_048_576),
        Arguments.of(env("HTTP2_CONNECTION_WINDOW_SIZE", "2097152"), f(c -> c.hbone().client().connectionWindow()),
            2_097_152),
        Arguments.of(env("HTTP2_CONNECTION_WINDOW_SIZE", "2097152"), f(c -> c.hbone().server().connectionWindow()),
            2_097_152),
        Arguments.of(env("HTTP2_FRAME_SIZE", "16384"), f(c -> c.hbone().client().maxFrameSize()), 16_384),
        Arguments.of(env("HTTP2_FRAME_SIZE", "16384"), f(c -> c.hbone().server().maxFrameSize()), 16_384),
        Arguments.of(env("HTTP2_FRAME_SIZE", "16384"), f(c -> c.hbone().pool().http2().maxFrameSize()), 16_384),
        Arguments.of(env("POOL_MAX_STREAMS_PER_CONNECTION", "50"),
            f(c -> c.hbone().pool().maxStreamsPerConnection()), 50),
        Arguments.of(env("POOL_MAX_STREAMS_PER_CONNECTION", "50"),
            f(c -> c.hbone().client().maxConcurrentStreams()), 50),
        Arguments.of(env("POOL_UNUSED_RELEASE_TIMEOUT", "30s"), f(c -> c.hbone().pool().idleTimeout()),
            Duration.ofSeconds(30)),
        Arguments.of(env("CONNECTION_TERMINATION_DEADLINE", "30s"), f(ZtunnelConfig::terminationDeadline),
            Duration.ofSeconds(30)),
        Arguments.of(env("ZTUNNEL_WORKER_THREADS", "3"), f(ZtunnelConfig::workerThreads), 3),
        Arguments.of(env("TLS12_ENABLED", "true"), f(c -> c.tls().tls12Enabled()), true),
        Arguments.of(env("COMPLIANCE_POLICY", "pqc"), f(c -> c.tls().compliancePolicy()), CompliancePolicy.PQC),
        Arguments.of(env("COMPLIANCE_POLICY", ""), f(c -> c.tls().compliancePolicy()), CompliancePolicy.NONE),
        Arguments.of(env("CRL_PATH", "/etc/crl.pem"), f(c -> c.tls().crlPath()), Optional.of("/etc/crl.pem")),
        Arguments.of(env("RUST_LOG", "info,xds=debug"), f(c -> c.logging().filter()), "info,xds=debug"),
        Arguments.of(env("LOG_FORMAT", "json"), f(c -> c.logging().format()), LogFormat.JSON),
        Arguments.of(env("LOG_FORMAT", "plain"), f(c -> c.logging().format()), LogFormat.PLAIN),
        Arguments.of(env("AUTHZ_POLICY_INFO_LOGGING", "true"), f(c -> c.logging().authzPolicyInfo()), true),
        Arguments.of(env("ENABLE_RESPONSE_BAGGAGE", "false"), f(ZtunnelConfig::enableResponseBaggage), false),
        Arguments.of(env("LOCALHOST_APP_TUNNEL", "false"), f(ZtunnelConfig::localhostAppTunnel), false),
        Arguments.of(env("KUBERNETES_SERVICE_HOST", "198.19.96.1"), f(c -> c.xds().address()),
            Optional.of("https://istiod.istio-system.svc:15012")),
        Arguments.of(env("KUBERNETES_SERVICE_HOST", "198.19.96.1"), f(c -> c.ca().address()),
            Optional.of("https://istiod.istio-system.svc:15012")),
        Arguments.of(env("PROXY_CONFIG", "proxyAdminPort: 16000\nstatsPort: 16020"), f(c -> c.listeners().admin()),
            new ListenAddress("localhost", 16000)),
        Arguments.of(env("PROXY_CONFIG", "{\"statsPort\": 16020}"), f(c -> c.listeners().stats()),
            new ListenAddress("::", 16020)),
        Arguments.of(env("PROXY_CONFIG", "discoveryAddress: istiod.other:15012"), f(c -> c.xds().address()),
            Optional.of("https://istiod.other:15012")),
        Arguments.of(env("PROXY_CONFIG", "discoveryAddress: istiod.other:15012", "XDS_ADDRESS", "x:1"),
            f(c -> c.xds().address()), Optional.of("https://x:1")),
        Arguments.of(env("PROXY_CONFIG", "concurrency: 3"), f(ZtunnelConfig::workerThreads), 3),
        Arguments.of(env("PROXY_CONFIG", "concurrency: 0"), f(ZtunnelConfig::workerThreads), CPUS),
        Arguments.of(env("PROXY_CONFIG", "concurrency: 3", "ZTUNNEL_WORKER_THREADS", "5"),
            f(ZtunnelConfig::workerThreads), 5),
        Arguments.of(env("PROXY_CONFIG", "holdApplicationUntilProxyStarts: true\nconcurrency: 2"),
            f(c -> c.proxyConfig().concurrency()), Optional.of(2)),
        Arguments.of(env("PROXY_CONFIG", "proxyMetadata: {ISTIO_META_DNS_CAPTURE: \"false\", FOO: bar}"),
            f(c -> c.dns().enabled()), false),
        Arguments.of(env("PROXY_CONFIG", "proxyMetadata: {ISTIO_META_DNS_CAPTURE: \"false\", FOO: bar}"),
            f(c -> c.node().metadata().getFieldsOrThrow("FOO").getStringValue()), "bar"),
        Arguments.of(env("PROXY_CONFIG", "proxyMetadata: {FOO: bar}", "ISTIO_META_FOO", "env"),
            f(c -> c.node().metadata().getFieldsOrThrow("FOO").getStringValue()), "env"),
        Arguments.of(env("PROXY_CONFIG", "proxyMetadata: {CLUSTER_ID: c9}"), f(c -> c.identity().clusterId()), "c9"));
  }

  private static Function<ZtunnelConfig, Object> f(Function<ZtunnelConfig, Object> get) {
    return get;
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("parsed")
  void variable_isParsed(Map<String, String> env, Function<ZtunnelConfig, Object> get, Object expected) {
    assertThat(get.apply(parse(env))).isEqualTo(expected);
  }

  // ---------------------------------------------------------------- validation errors

  static Stream<Arguments> invalid() {
    return Stream.of(
        Arguments.of(env("PROXY_MODE", "Dedicated"), "PROXY_MODE", "Dedicated"),
        Arguments.of(env("PROXY_MODE", "dedicated"), "PROXY_WORKLOAD_INFO", "<unset>"),
        Arguments.of(env("PROXY_MODE", "dedicated", "PROXY_WORKLOAD_INFO", ""), "PROXY_WORKLOAD_INFO", ""),
        Arguments.of(env("PROXY_WORKLOAD_INFO", "ns/name"), "PROXY_WORKLOAD_INFO", "ns/name"),
        Arguments.of(env("PROXY_WORKLOAD_INFO", "ns/name/sa/extra"), "PROXY_WORKLOAD_INFO", "ns/name/sa/extra"),
        Arguments.of(env("PROXY_WORKLOAD_INFO", "ns//sa"), "PROXY_WORKLOAD_INFO", "ns//sa"),
        Arguments.of(env("XDS_ADDRESS", "ftp://istiod:15012"), "XDS_ADDRESS", "ftp://istiod:15012"),
        Arguments.of(env("XDS_ADDRESS", "https://"), "XDS_ADDRESS", "https://"),
        Arguments.of(env("XDS_ADDRESS", "istiod:15012 x"), "XDS_ADDRESS", "istiod:15012 x"),
        Arguments.of(env("CA_ADDRESS", "ca^:1"), "CA_ADDRESS", "ca^:1"),
        Arguments.of(env("XDS_HEADER_bad name", "v"), "XDS_HEADER_bad name", "v"),
        Arguments.of(env("XDS_HEADER_", "v"), "XDS_HEADER_", "v"),
        Arguments.of(env("CA_HEADER_x", "line\nbreak"), "CA_HEADER_x", "line\nbreak"),
        Arguments.of(env("INSTANCE_IP", "node.local"), "INSTANCE_IP", "node.local"),
        Arguments.of(env("LOCAL_XDS_PATH", "/a.yaml", "LOCAL_XDS", "workloads: []"), "LOCAL_XDS_PATH+LOCAL_XDS",
            "/a.yaml+<inline>"),
        Arguments.of(env("SECRET_TTL", "24"), "SECRET_TTL", "24"),
        Arguments.of(env("SECRET_TTL", "0s"), "SECRET_TTL", "0s"),
        Arguments.of(env("XDS_ON_DEMAND", "true"), "ISTIO_META_DNS_CAPTURE+XDS_ON_DEMAND", "<unset>+true"),
        Arguments.of(env("XDS_ON_DEMAND", "true", "ISTIO_META_DNS_CAPTURE", "true"),
            "ISTIO_META_DNS_CAPTURE+XDS_ON_DEMAND", "true+true"),
        Arguments.of(env("ENABLE_PROXY", "false", "ISTIO_META_DNS_CAPTURE", "false"),
            "ENABLE_PROXY+ISTIO_META_DNS_CAPTURE", "false+false"),
        Arguments.of(env("ISTIO_META_DNS_PROXY_ADDR", "15053"), "ISTIO_META_DNS_PROXY_ADDR", "15053"),
        Arguments.of(env("ISTIO_META_DNS_PROXY_ADDR", "dns.local:53"), "ISTIO_META_DNS_PROXY_ADDR", "dns.local:53"),
        Arguments.of(env("ISTIO_META_DNS_PROXY_ADDR", "::1:53"), "ISTIO_META_DNS_PROXY_ADDR", "::1:53"),
        Arguments.of(env("ISTIO_META_DNS_PROXY_ADDR", "[127.0.0.1]:53"), "ISTIO_META_DNS_PROXY_ADDR",
            "[127.0.0.1]:53"),
        Arguments.of(env("ISTIO_META_DNS_PROXY_ADDR", "localhost:0"), "ISTIO_META_DNS_PROXY_ADDR", "localhost:0"),
        Arguments.of(env("ISTIO_META_DNS_PROXY_ADDR", "localhost:65536"), "ISTIO_META_DNS_PROXY_ADDR",
            "localhost:65536"),
        Arguments.of(env("ISTIO_META_DNS_PROXY_ADDR", "localhost:dns"), "ISTIO_META_DNS_PROXY_ADDR", "localhost:dns"),
        Arguments.of(env("PACKET_MARK", "mark"), "PACKET_MARK", "mark"),
        Arguments.of(env("PACKET_MARK", "-1"), "PACKET_MARK", "-1"),
        Arguments.of(env("PACKET_MARK", "4294967296"), "PACKET_MARK", "4294967296"),
        Arguments.of(env("PACKET_MARK", "0xZZ"), "PACKET_MARK", "0xZZ"),
        Arguments.of(env("ENABLE_ORIG_SRC", "auto"), "ENABLE_ORIG_SRC", "auto"),
        Arguments.of(env("KEEPALIVE_TIME", "0s"), "KEEPALIVE_TIME", "0s"),
        Arguments.of(env("KEEPALIVE_INTERVAL", "-5s"), "KEEPALIVE_INTERVAL", "-5s"),
        Arguments.of(env("KEEPALIVE_RETRIES", "-1"), "KEEPALIVE_RETRIES", "-1"),
        Arguments.of(env("KEEPALIVE_RETRIES", "nine"), "KEEPALIVE_RETRIES", "nine"),
        Arguments.of(env("HTTP2_STREAM_WINDOW_SIZE", "65534"), "HTTP2_STREAM_WINDOW_SIZE", "65534"),
        Arguments.of(env("HTTP2_STREAM_WINDOW_SIZE", "2147483648"), "HTTP2_STREAM_WINDOW_SIZE", "2147483648"),
        Arguments.of(env("HTTP2_CONNECTION_WINDOW_SIZE", "4MiB"), "HTTP2_CONNECTION_WINDOW_SIZE", "4MiB"),
        Arguments.of(env("HTTP2_FRAME_SIZE", "16383"), "HTTP2_FRAME_SIZE", "16383"),
        Arguments.of(env("HTTP2_FRAME_SIZE", "16777216"), "HTTP2_FRAME_SIZE", "16777216"),
        Arguments.of(env("POOL_MAX_STREAMS_PER_CONNECTION", "0"), "POOL_MAX_STREAMS_PER_CONNECTION", "0"),
        Arguments.of(env("POOL_UNUSED_RELEASE_TIMEOUT", "5 m"), "POOL_UNUSED_RELEASE_TIMEOUT", "5 m"),
        Arguments.of(env("CONNECTION_TERMINATION_DEADLINE", "soon"), "CONNECTION_TERMINATION_DEADLINE", "soon"),
        Arguments.of(env("TERMINATION_GRACE_PERIOD_SECONDS", "30s"), "TERMINATION_GRACE_PERIOD_SECONDS", "30s"),
        Arguments.of(env("TERMINATION_GRACE_PERIOD_SECONDS", "-1"), "TERMINATION_GRACE_PERIOD_SECONDS", "-1"),
        Arguments.of(env("ZTUNNEL_WORKER_THREADS", "-2"), "ZTUNNEL_WORKER_THREADS", "-2"),
        Arguments.of(env("ZTUNNEL_WORKER_THREADS", "many"), "ZTUNNEL_WORKER_THREADS", "many"),
        Arguments.of(env("ZTUNNEL_WORKER_THREADS", "0%"), "ZTUNNEL_WORKER_THREADS", "0%"),
        Arguments.of(env("ZTUNNEL_WORKER_THREADS", "101%"), "ZTUNNEL_WORKER_THREADS", "101%"),
        Arguments.of(env("ZTUNNEL_WORKER_THREADS", "%"), "ZTUNNEL_WORKER_THREADS", "%"),
        Arguments.of(env("ZTUNNEL_WORKER_THREADS", "-50%"), "ZTUNNEL_WORKER_THREADS", "-50%"),
        Arguments.of(env("ZTUNNEL_CPU_LIMIT", "two"), "ZTUNNEL_CPU_LIMIT", "two"),
        Arguments.of(env("ZTUNNEL_RESOURCE_CPU_LIMIT", "1Gi"), "ZTUNNEL_RESOURCE_CPU_LIMIT", "1Gi"),
        Arguments.of(env("ZTUNNEL_RESOURCE_CPU_REQUEST", "-1"), "ZTUNNEL_RESOURCE_CPU_REQUEST", "-1"),
        Arguments.of(env("COMPLIANCE_POLICY", "fips"), "COMPLIANCE_POLICY", "fips"),
        Arguments.of(env("LOG_FORMAT", "JSON"), "LOG_FORMAT", "JSON"),
        Arguments.of(env("PROXY_CONFIG", "{unclosed"), "PROXY_CONFIG", "{unclosed"),
        Arguments.of(env("PROXY_CONFIG", "- a list"), "PROXY_CONFIG", "- a list"),
        Arguments.of(env("PROXY_CONFIG", "proxyAdminPort: 70000"), "PROXY_CONFIG", "proxyAdminPort: 70000"),
        Arguments.of(env("PROXY_CONFIG", "statsPort: abc"), "PROXY_CONFIG", "statsPort: abc"),
        Arguments.of(env("PROXY_CONFIG", "concurrency: -1"), "PROXY_CONFIG", "concurrency: -1"),
        Arguments.of(env("PROXY_CONFIG", "concurrency: 1.5"), "PROXY_CONFIG", "concurrency: 1.5"),
        Arguments.of(env("PROXY_CONFIG", "discoveryAddress: [a]"), "PROXY_CONFIG", "discoveryAddress: [a]"),
        Arguments.of(env("PROXY_CONFIG", "proxyMetadata: [a]"), "PROXY_CONFIG", "proxyMetadata: [a]"),
        Arguments.of(env("PROXY_CONFIG", "proxyMetadata: {A: {b: c}}"), "PROXY_CONFIG", "proxyMetadata: {A: {b: c}}"));
  }

  @ParameterizedTest(name = "{1}={2}")
  @MethodSource("invalid")
  void invalidValue_isRejectedNamingTheVariable(Map<String, String> env, String variable, String value) {
    ZtunnelConfigException e = catchThrowableOfType(ZtunnelConfigException.class, () -> parse(env));
    assertThat(e).as("no exception for %s", env).isNotNull();
    assertThat(e.problems()).extracting(Problem::variable).containsExactly(variable);
    assertThat(e.problems().getFirst().value()).isEqualTo(value);
    assertThat(e.getMessage()).contains(variable + "=\"" + value + "\": ").contains("1 problem)");
  }

  static Stream<String> booleanVariables() {
    return Stream.of("FAKE_CA", "XDS_ON_DEMAND", "ENABLE_PROXY", "IPV6_ENABLED", "UNSTABLE_ENABLE_SOCKS5",
        "INPOD_PORT_REUSE", "KEEPALIVE_ENABLED", "USER_TIMEOUT_ENABLED", "TLS12_ENABLED", "AUTHZ_POLICY_INFO_LOGGING",
        "ENABLE_RESPONSE_BAGGAGE", "LOCALHOST_APP_TUNNEL", "ENABLE_ORIG_SRC");
  }

  static Stream<Arguments> badBooleans() {
    return booleanVariables().flatMap(v -> Stream.of("True", "FALSE", "1", "0", "yes", "", " true")
        .map(value -> Arguments.of(v, value)));
  }

  @ParameterizedTest(name = "{0}=\"{1}\"")
  @MethodSource("badBooleans")
  void boolean_mustBeExactlyTrueOrFalse(String variable, String value) {
    assertThatThrownBy(() -> parse(env(variable, value)))
        .isInstanceOf(ZtunnelConfigException.class)
        .hasMessageContaining(variable + "=\"" + value + "\": must be exactly true or false");
  }

  static Stream<Arguments> goodBooleans() {
    return booleanVariables().flatMap(v -> Stream.of("true", "false").map(value -> Arguments.of(v, value)));
  }

  @ParameterizedTest(name = "{0}={1}")
  @MethodSource("goodBooleans")
  void boolean_trueAndFalse_areAccepted(String variable, String value) {
    // XDS_ON_DEMAND=true needs the DNS proxy off; the rest parse on their own.
    Map<String, String> env = variable.equals("XDS_ON_DEMAND")
        ? env(variable, value, "ISTIO_META_DNS_CAPTURE", "false")
        : env(variable, value);
    assertThat(parse(env).toString()).isNotEmpty();
  }

  @Test
  void booleans_reachTheirField() {
    ZtunnelConfig t = parse(env("FAKE_CA", "true", "IPV6_ENABLED", "false", "INPOD_PORT_REUSE", "false",
        "KEEPALIVE_ENABLED", "false", "TLS12_ENABLED", "true", "AUTHZ_POLICY_INFO_LOGGING", "true",
        "ENABLE_RESPONSE_BAGGAGE", "false", "LOCALHOST_APP_TUNNEL", "false", "UNSTABLE_ENABLE_SOCKS5", "true"));
    assertThat(List.of(t.fakeCa(), t.ipv6Enabled(), t.inPod().portReuse(), t.keepalive().enabled(),
        t.tls().tls12Enabled(), t.logging().authzPolicyInfo(), t.enableResponseBaggage(), t.localhostAppTunnel(),
        t.listeners().socks5().isPresent()))
        .containsExactly(true, false, false, false, true, true, false, false, true);
  }

  @Test
  void severalProblems_areReportedTogether() {
    ZtunnelConfigException e = catchThrowableOfType(ZtunnelConfigException.class, () -> parse(env(
        "PROXY_MODE", "dedicated", "SECRET_TTL", "forever", "TLS12_ENABLED", "yes", "HTTP2_FRAME_SIZE", "1")));
    assertThat(e.problems()).extracting(Problem::variable)
        .containsExactlyInAnyOrder("PROXY_WORKLOAD_INFO", "SECRET_TTL", "TLS12_ENABLED", "HTTP2_FRAME_SIZE");
    assertThat(e.getMessage()).startsWith("invalid ztunnel configuration (4 problems): ")
        .contains("SECRET_TTL=\"forever\"", "TLS12_ENABLED=\"yes\"", "HTTP2_FRAME_SIZE=\"1\"",
            "PROXY_WORKLOAD_INFO=\"<unset>\"");
  }

  // ---------------------------------------------------------------- durations

  @ParameterizedTest(name = "{0}")
  @CsvSource({"5s, PT5S", "100ms, PT0.1S", "1m, PT1M", "24h, PT24H", "1m30s, PT1M30S", "2d, PT48H", "0s, PT0S",
      "250us, PT0.00025S", "10ns, PT0.00000001S", "1h1m1s1ms, PT1H1M1.001S"})
  void duration_forms(String text, String iso) {
    assertThat(EnvReader.parseDuration(text)).contains(Duration.parse(iso));
    assertThat(parse(env("CONNECTION_TERMINATION_DEADLINE", text)).terminationDeadline()).isEqualTo(Duration.parse(iso));
  }

  @ParameterizedTest(name = "\"{0}\"")
  @ValueSource(strings = {"", "5", "s", "5 s", " 5s", "5S", "-5s", "+5s", "1.5s", "5sec", "5s ", "1m30", "ms5",
      "99999999999999999999s", "9223372036854775807d"})
  void duration_malformed(String text) {
    assertThat(EnvReader.parseDuration(text)).isEmpty();
    assertThatThrownBy(() -> parse(env("POOL_UNUSED_RELEASE_TIMEOUT", text)))
        .isInstanceOf(ZtunnelConfigException.class)
        .hasMessageContaining("POOL_UNUSED_RELEASE_TIMEOUT=\"" + text + "\": not a duration");
  }

  // ---------------------------------------------------------------- worker threads

  @ParameterizedTest(name = "cpus={0} {1}")
  @CsvSource(delimiter = '|', value = {
      // cpus | environment (k=v;k=v)                                  | threads
      "8  | ZTUNNEL_WORKER_THREADS=3                                    | 3",
      "8  | ZTUNNEL_WORKER_THREADS=0                                    | 8",
      "64 | ZTUNNEL_WORKER_THREADS=0                                    | 64",
      "8  | ZTUNNEL_WORKER_THREADS=50%                                  | 4",
      "6  | ZTUNNEL_WORKER_THREADS=50%                                  | 3",
      "7  | ZTUNNEL_WORKER_THREADS=50%                                  | 4",
      "1  | ZTUNNEL_WORKER_THREADS=1%                                   | 1",
      "8  | ZTUNNEL_WORKER_THREADS=100%                                 | 8",
      "8  | ZTUNNEL_WORKER_THREADS=12.5%                                | 1",
      "8  | ZTUNNEL_WORKER_THREADS=5;ZTUNNEL_CPU_LIMIT=2                | 5",
      "8  |                                                             | 2",
      "16 |                                                             | 4",
      "17 |                                                             | 5",
      "64 |                                                             | 16",
      "1  |                                                             | 2",
      "64 | ZTUNNEL_CPU_LIMIT=2                                         | 2",
      "64 | ZTUNNEL_CPU_LIMIT=1500m                                     | 2",
      "64 | ZTUNNEL_CPU_LIMIT=500m                                      | 1",
      "64 | ZTUNNEL_CPU_LIMIT=2.5                                       | 3",
      "64 | ZTUNNEL_RESOURCE_CPU_LIMIT=3                                | 3",
      "64 | ZTUNNEL_CPU_LIMIT=2;ZTUNNEL_RESOURCE_CPU_LIMIT=7            | 2",
      "64 | ZTUNNEL_CPU_LIMIT=1;ZTUNNEL_RESOURCE_CPU_REQUEST=4          | 4",
      "64 | ZTUNNEL_RESOURCE_CPU_LIMIT=6;ZTUNNEL_RESOURCE_CPU_REQUEST=2 | 6",
      "8  | ZTUNNEL_RESOURCE_CPU_REQUEST=3                              | 3",
      "8  | ZTUNNEL_RESOURCE_CPU_REQUEST=100m                           | 2",
      "64 | ZTUNNEL_RESOURCE_CPU_REQUEST=20                             | 20",
      "64 | ZTUNNEL_RESOURCE_CPU_REQUEST=1                              | 16"})
  void workerThreads_rules(int cpus, String settings, int expected) {
    Map<String, String> env = new HashMap<>();
    if (settings != null) {
      for (String kv : settings.split(";")) {
        String[] p = kv.split("=", 2);
        env.put(p[0], p[1]);
      }
    }
    assertThat(ZtunnelConfig.fromEnvironment(env, cpus).workerThreads()).isEqualTo(expected);
  }

  @ParameterizedTest(name = "{0} -> {1}")
  @CsvSource({"2, 2", "1.5, 2", "0.1, 1", "500m, 1", "1001m, 2", "2000m, 2", ".5, 1", "0, 1"})
  void cpuQuantity_roundsUp(String quantity, int cores) {
    assertThat(EnvReader.parseCpuQuantity(quantity)).contains(cores);
  }

  @ParameterizedTest(name = "\"{0}\"")
  @ValueSource(strings = {"", "two", "1Gi", "-1", "1.", "m", "1e3", "2 "})
  void cpuQuantity_malformed(String quantity) {
    assertThat(EnvReader.parseCpuQuantity(quantity)).isEmpty();
  }

  // ---------------------------------------------------------------- termination deadline

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', value = {
      "                                                                     | PT5S",
      "TERMINATION_GRACE_PERIOD_SECONDS=30                                  | PT25S",
      "TERMINATION_GRACE_PERIOD_SECONDS=11                                  | PT6S",
      "TERMINATION_GRACE_PERIOD_SECONDS=10                                  | PT9S",
      "TERMINATION_GRACE_PERIOD_SECONDS=5                                   | PT4S",
      "TERMINATION_GRACE_PERIOD_SECONDS=2                                   | PT1S",
      "TERMINATION_GRACE_PERIOD_SECONDS=1                                   | PT1S",
      "TERMINATION_GRACE_PERIOD_SECONDS=0                                   | PT1S",
      "CONNECTION_TERMINATION_DEADLINE=2s                                   | PT2S",
      "CONNECTION_TERMINATION_DEADLINE=0s                                   | PT0S",
      "CONNECTION_TERMINATION_DEADLINE=45s;TERMINATION_GRACE_PERIOD_SECONDS=30 | PT45S"})
  void terminationDeadline_derivation(String settings, String iso) {
    Map<String, String> env = new HashMap<>();
    if (settings != null) {
      for (String kv : settings.split(";")) {
        String[] p = kv.split("=", 2);
        env.put(p[0], p[1]);
      }
    }
    assertThat(parse(env).terminationDeadline()).isEqualTo(Duration.parse(iso));
  }

  // ---------------------------------------------------------------- xDS / CA address forms

  @ParameterizedTest(name = "\"{0}\" -> {1}")
  @CsvSource(delimiter = '|', value = {
      "https://istiod.istio-system.svc:15012 | https://istiod.istio-system.svc:15012",
      "http://localhost:15010               | http://localhost:15010",
      "istiod.istio-system.svc:15012        | https://istiod.istio-system.svc:15012",
      "198.18.0.1:15012                       | https://198.18.0.1:15012",
      "[2001:db8::1]:15012                      | https://[2001:db8::1]:15012",
      "HTTPS://istiod:15012                 | HTTPS://istiod:15012"})
  void xdsAddress_forms(String value, String expected) {
    assertThat(parse(env("XDS_ADDRESS", value)).xds().address()).contains(expected);
    assertThat(parse(env("CA_ADDRESS", value)).ca().address()).contains(expected);
  }

  @Test
  void emptyAddress_disables() {
    ZtunnelConfig c = parse(env("XDS_ADDRESS", "", "CA_ADDRESS", ""));
    assertThat(c.xds().enabled()).isFalse();
    assertThat(c.ca().enabled()).isFalse();
    assertThat(parse(Map.of()).xds().enabled()).isTrue();
  }

  @Test
  void developmentRecipe_parses() {
    ZtunnelConfig c = parse(env("FAKE_CA", "true", "XDS_ADDRESS", "", "LOCAL_XDS_PATH", "./examples/localhost.yaml",
        "PROXY_MODE", "dedicated", "PROXY_WORKLOAD_INFO", "default/local/default"));
    assertThat(c.proxyMode()).isEqualTo(ProxyMode.DEDICATED);
    assertThat(c.workloadInfo()).contains(new WorkloadInfo("default", "local", "default"));
    assertThat(c.xds().enabled()).isFalse();
    assertThat(c.packetMark()).isEmpty();
  }

  // ---------------------------------------------------------------- the rest of the contract

  @Test
  void authToken_isRedactedAndResolvedAtUse() {
    ZtunnelConfig c = parse(env("AUTH_TOKEN", "s3cr3t-token-value"));
    assertThat(c.toString()).doesNotContain("s3cr3t-token-value");
    assertThat(c.tokenSource()).isEqualTo(new TokenSource.Literal("s3cr3t-token-value"));
  }

  @Test
  void unrelatedVariables_areIgnored() {
    assertThat(parse(env("PATH", "/bin", "HOME", "/root", "XDS_ADDRESSES", "nonsense")))
        .isEqualTo(parse(Map.of()));
  }

  @Test
  void configIsImmutable() {
    ZtunnelConfig c = parse(env("XDS_HEADER_a", "1"));
    assertThatThrownBy(() -> c.xds().headers().put("b", "2")).isInstanceOf(UnsupportedOperationException.class);
  }

  @ParameterizedTest
  @ValueSource(ints = {0, -1})
  void availableProcessors_mustBePositive(int cpus) {
    assertThatThrownBy(() -> ZtunnelConfig.fromEnvironment(Map.of(), cpus))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
