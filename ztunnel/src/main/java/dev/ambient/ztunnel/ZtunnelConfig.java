package dev.ambient.ztunnel;

import static java.util.Objects.requireNonNull;

import dev.ambient.hbone.Http2Config;
import dev.ambient.hbone.PoolConfig;
import dev.ambient.xds.ca.TokenSource;
import dev.ambient.xds.client.NodeInfo;
import java.time.Duration;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * ztunnel's process configuration (spec §3.3), built once at startup by the pure function
 * {@link #fromEnvironment(Map, int)}. Every value is parsed and checked there; a malformed value
 * aborts startup with a {@link ZtunnelConfigException} naming each offending variable. Paths and
 * tokens are kept as given: whether a file exists is decided where it is used ({@link #tokenSource()}).
 *
 * @param proxyMode {@code PROXY_MODE}: shared (in-pod, ZDS) or dedicated (one workload)
 * @param workloadInfo {@code PROXY_WORKLOAD_INFO}, required in dedicated mode
 * @param xds the xDS server: {@code XDS_ADDRESS}, {@code XDS_ROOT_CA}, {@code ALT_XDS_HOSTNAME}, {@code XDS_HEADER_*}
 * @param ca the CA: {@code CA_ADDRESS}, {@code CA_ROOT_CA}, {@code ALT_CA_HOSTNAME}, {@code CA_HEADER_*}
 * @param fakeCa {@code FAKE_CA}: self-signed test CA, {@link #ca} ignored
 * @param authToken {@code AUTH_TOKEN} as given
 * @param identity cluster, network, node and pod identity
 * @param node the xDS {@code Node} (INSTANCE_IP, POD_*, NODE_NAME, ISTIO_META_*, ISTIO_METAJSON_*)
 * @param istioVersion {@code ISTIO_META_ISTIO_VERSION}
 * @param xdsOnDemand {@code XDS_ON_DEMAND}
 * @param localXds {@code LOCAL_XDS_PATH} or {@code LOCAL_XDS}
 * @param secretTtl {@code SECRET_TTL}: requested certificate validity
 * @param proxyEnabled {@code ENABLE_PROXY}
 * @param ipv6Enabled {@code IPV6_ENABLED}: wildcard binds are {@code ::} rather than {@code 0.0.0.0}
 * @param listeners bind addresses of every listener
 * @param dns the DNS proxy
 * @param inPod {@code INPOD_UDS}, {@code INPOD_PORT_REUSE}
 * @param packetMark {@code PACKET_MARK}: SO_MARK on every socket; 1337 in shared mode, none in dedicated
 * @param origSrc {@code ENABLE_ORIG_SRC}
 * @param keepalive TCP keepalive and user timeout
 * @param hbone HTTP/2 and pool settings of HBONE
 * @param terminationDeadline {@code CONNECTION_TERMINATION_DEADLINE} or derived from {@code TERMINATION_GRACE_PERIOD_SECONDS}
 * @param workerThreads event-loop threads ({@code ZTUNNEL_WORKER_THREADS} or the CPU rules)
 * @param tls {@code TLS12_ENABLED}, {@code COMPLIANCE_POLICY}, {@code CRL_PATH}
 * @param logging {@code RUST_LOG}, {@code LOG_FORMAT}, {@code AUTHZ_POLICY_INFO_LOGGING}
 * @param enableResponseBaggage {@code ENABLE_RESPONSE_BAGGAGE}
 * @param localhostAppTunnel {@code LOCALHOST_APP_TUNNEL}
 * @param proxyConfig the fields of {@code PROXY_CONFIG} ztunnel reads
 */
public record ZtunnelConfig(
    ProxyMode proxyMode,
    Optional<WorkloadInfo> workloadInfo,
    ControlPlane xds,
    ControlPlane ca,
    boolean fakeCa,
    AuthToken authToken,
    Identity identity,
    NodeInfo node,
    String istioVersion,
    boolean xdsOnDemand,
    LocalXds localXds,
    Duration secretTtl,
    boolean proxyEnabled,
    boolean ipv6Enabled,
    Listeners listeners,
    Dns dns,
    InPod inPod,
    Optional<Integer> packetMark,
    OrigSrc origSrc,
    Keepalive keepalive,
    Hbone hbone,
    Duration terminationDeadline,
    int workerThreads,
    Tls tls,
    Logging logging,
    boolean enableResponseBaggage,
    boolean localhostAppTunnel,
    ProxyConfig proxyConfig) {

  // Defaults, with units in the names where they have one (spec §3.3, §2.1, §4.2, §9).
  static final String DEFAULT_ISTIOD_IN_CLUSTER = "https://istiod.istio-system.svc:15012";
  static final String DEFAULT_ISTIOD_LOCAL = "https://localhost:15012";
  static final String DEFAULT_ROOT_CA = "./var/run/secrets/istio/root-cert.pem";
  static final String DEFAULT_CLUSTER_ID = "Kubernetes";
  static final String DEFAULT_CLUSTER_DOMAIN = "cluster.local";
  static final String DEFAULT_TRUST_DOMAIN = "cluster.local";
  static final String DEFAULT_ISTIO_VERSION = "unknown";
  static final String DEFAULT_INPOD_UDS = "/var/run/ztunnel/ztunnel.sock";
  static final String DEFAULT_LOG_FILTER = "info";
  static final Duration DEFAULT_SECRET_TTL = Duration.ofHours(24);
  static final int DEFAULT_PACKET_MARK_SHARED = 1337;
  static final Duration DEFAULT_KEEPALIVE_TIME = Duration.ofSeconds(180);
  static final Duration DEFAULT_KEEPALIVE_INTERVAL = Duration.ofSeconds(180);
  static final int DEFAULT_KEEPALIVE_RETRIES = 9;
  static final int DEFAULT_HTTP2_STREAM_WINDOW_BYTES = 4 * Http2Config.MIB;
  static final int DEFAULT_HTTP2_CONNECTION_WINDOW_BYTES = 16 * Http2Config.MIB;
  static final int DEFAULT_HTTP2_FRAME_SIZE_BYTES = Http2Config.MIB;
  static final int DEFAULT_POOL_MAX_STREAMS_PER_CONNECTION = 100;
  static final Duration DEFAULT_POOL_UNUSED_RELEASE_TIMEOUT = Duration.ofMinutes(5);
  static final Duration DEFAULT_TERMINATION_DEADLINE = Duration.ofSeconds(5);
  /** Above this grace period, 5 s are kept back for the kubelet; at or below it, 1 s. */
  static final long GRACE_PERIOD_THRESHOLD_SECONDS = 10;
  static final int AUTO_WORKER_THREADS_PERCENT = 25;
  static final int AUTO_WORKER_THREADS_MIN = 2;
  static final int MAX_WORKER_THREADS = 1_024;
  static final int PORT_OUTBOUND = 15001;
  static final int PORT_INBOUND_PLAINTEXT = 15006;
  static final int PORT_INBOUND_HBONE = 15008;
  static final int PORT_DNS = 15053;
  static final int PORT_ADMIN = 15000;
  static final int PORT_STATS = 15020;
  static final int PORT_READINESS = 15021;
  static final int PORT_SOCKS5 = 15080;
  /** HTTP/2 windows are 31-bit (RFC 9113 §6.9.1). */
  static final long HTTP2_MAX_WINDOW_BYTES = Integer.MAX_VALUE;
  static final long MAX_U32 = 0xFFFF_FFFFL;

  private static final Pattern HEADER_NAME = Pattern.compile("[A-Za-z0-9_.-]+");
  private static final Pattern HEADER_VALUE = Pattern.compile("[\\x20-\\x7e\\t]*");

  public ZtunnelConfig {
    requireNonNull(proxyMode, "proxyMode");
    requireNonNull(workloadInfo, "workloadInfo");
    requireNonNull(xds, "xds");
    requireNonNull(ca, "ca");
    requireNonNull(authToken, "authToken");
    requireNonNull(identity, "identity");
    requireNonNull(node, "node");
    requireNonNull(istioVersion, "istioVersion");
    requireNonNull(localXds, "localXds");
    requireNonNull(secretTtl, "secretTtl");
    requireNonNull(listeners, "listeners");
    requireNonNull(dns, "dns");
    requireNonNull(inPod, "inPod");
    requireNonNull(packetMark, "packetMark");
    requireNonNull(origSrc, "origSrc");
    requireNonNull(keepalive, "keepalive");
    requireNonNull(hbone, "hbone");
    requireNonNull(terminationDeadline, "terminationDeadline");
    requireNonNull(tls, "tls");
    requireNonNull(logging, "logging");
    requireNonNull(proxyConfig, "proxyConfig");
    if (workerThreads < 1) {
      throw new IllegalArgumentException("workerThreads must be at least 1");
    }
  }

  /** {@code PROXY_MODE}. */
  public enum ProxyMode {
    /** In-pod, multi-tenant: pods arrive over ZDS. */
    SHARED,
    /** One workload, named by {@code PROXY_WORKLOAD_INFO}. */
    DEDICATED
  }

  /** {@code PROXY_WORKLOAD_INFO=namespace/name/serviceAccount}. */
  public record WorkloadInfo(String namespace, String name, String serviceAccount) {
    public WorkloadInfo {
      requireNonNull(namespace, "namespace");
      requireNonNull(name, "name");
      requireNonNull(serviceAccount, "serviceAccount");
    }
  }

  /**
   * An istiod endpoint (xDS or CA).
   *
   * @param address URL with scheme; empty when disabled ({@code XDS_ADDRESS=""})
   * @param rootCa file path, {@code SYSTEM} (OS trust store), or inline PEM when not an existing path
   * @param altHostname one more accepted TLS server name
   * @param headers extra gRPC metadata, names lower-cased, sorted
   */
  public record ControlPlane(Optional<String> address, String rootCa, Optional<String> altHostname,
      Map<String, String> headers) {
    public ControlPlane {
      requireNonNull(address, "address");
      requireNonNull(rootCa, "rootCa");
      requireNonNull(altHostname, "altHostname");
      headers = Collections.unmodifiableMap(new TreeMap<>(headers));
    }

    public boolean enabled() {
      return address.isPresent();
    }
  }

  /** {@code AUTH_TOKEN} as given; never printed. */
  public record AuthToken(Optional<String> setting) {
    public AuthToken {
      requireNonNull(setting, "setting");
    }

    @Override
    public String toString() {
      return setting.isPresent() ? "AuthToken[<redacted>]" : "AuthToken[default]";
    }
  }

  /**
   * Who and where this ztunnel is.
   *
   * @param clusterId {@code ISTIO_META_CLUSTER_ID}, else {@code CLUSTER_ID}; sent as {@code clusterid}
   * @param clusterDomain {@code CLUSTER_DOMAIN}: the DNS suffix
   * @param network {@code NETWORK}
   * @param nodeName {@code NODE_NAME}
   * @param instanceIp {@code INSTANCE_IP}, an IP literal
   * @param podName {@code POD_NAME}
   * @param podNamespace {@code POD_NAMESPACE}
   * @param serviceAccount {@code SERVICE_ACCOUNT}
   * @param trustDomain {@code TRUST_DOMAIN}
   */
  public record Identity(String clusterId, String clusterDomain, String network, Optional<String> nodeName,
      Optional<String> instanceIp, Optional<String> podName, Optional<String> podNamespace,
      Optional<String> serviceAccount, String trustDomain) {
    public Identity {
      requireNonNull(clusterId, "clusterId");
      requireNonNull(clusterDomain, "clusterDomain");
      requireNonNull(network, "network");
      requireNonNull(nodeName, "nodeName");
      requireNonNull(instanceIp, "instanceIp");
      requireNonNull(podName, "podName");
      requireNonNull(podNamespace, "podNamespace");
      requireNonNull(serviceAccount, "serviceAccount");
      requireNonNull(trustDomain, "trustDomain");
    }

    /**
     * ztunnel's own SPIFFE ID, when POD_NAMESPACE, SERVICE_ACCOUNT and POD_NAME are all set; it
     * enables the self inbound HBONE listener in shared mode.
     */
    public Optional<String> selfSpiffeId() {
      if (podName.isEmpty() || podNamespace.isEmpty() || serviceAccount.isEmpty()) {
        return Optional.empty();
      }
      return Optional.of("spiffe://" + trustDomain + "/ns/" + podNamespace.get() + "/sa/" + serviceAccount.get());
    }
  }

  /** {@code LOCAL_XDS_PATH} / {@code LOCAL_XDS} (spec §3.1); at most one. */
  public sealed interface LocalXds {
    /** Neither is set. */
    record None() implements LocalXds {}

    /** {@code LOCAL_XDS_PATH}: a YAML file read once at startup. */
    record FromFile(String path) implements LocalXds {
      public FromFile {
        requireNonNull(path, "path");
      }
    }

    /** {@code LOCAL_XDS}: the YAML itself. */
    record Inline(String yaml) implements LocalXds {
      public Inline {
        requireNonNull(yaml, "yaml");
      }
    }
  }

  /**
   * A bind address. {@code localhost} means both 127.0.0.1 and ::1 (::1 only when IPv6 is enabled).
   *
   * @param host {@code localhost}, or an IP literal ({@code ::} / {@code 0.0.0.0} for wildcards)
   * @param port 1..65535
   */
  public record ListenAddress(String host, int port) {
    public static final String LOCALHOST = "localhost";

    public ListenAddress {
      requireNonNull(host, "host");
      if (port < 1 || port > 65_535) {
        throw new IllegalArgumentException("port must be within 1..65535");
      }
    }

    static ListenAddress wildcard(boolean ipv6, int port) {
      return new ListenAddress(ipv6 ? "::" : "0.0.0.0", port);
    }

    static ListenAddress localhost(int port) {
      return new ListenAddress(LOCALHOST, port);
    }

    public boolean isLocalhost() {
      return LOCALHOST.equals(host);
    }

    @Override
    public String toString() {
      return (host.contains(":") ? "[" + host + "]" : host) + ":" + port;
    }
  }

  /**
   * Every listener's bind address (spec §4.2, §5, §9).
   *
   * @param outbound 15001, wildcard
   * @param inboundPlaintext 15006, wildcard
   * @param inbound 15008 (HBONE), wildcard
   * @param admin 15000, localhost
   * @param stats 15020, wildcard
   * @param readiness 15021, wildcard
   * @param socks5 127.0.0.1:15080 when {@code UNSTABLE_ENABLE_SOCKS5=true}
   */
  public record Listeners(ListenAddress outbound, ListenAddress inboundPlaintext, ListenAddress inbound,
      ListenAddress admin, ListenAddress stats, ListenAddress readiness, Optional<ListenAddress> socks5) {
    public Listeners {
      requireNonNull(outbound, "outbound");
      requireNonNull(inboundPlaintext, "inboundPlaintext");
      requireNonNull(inbound, "inbound");
      requireNonNull(admin, "admin");
      requireNonNull(stats, "stats");
      requireNonNull(readiness, "readiness");
      requireNonNull(socks5, "socks5");
    }
  }

  /**
   * The DNS proxy (spec §5.8).
   *
   * @param enabled {@code ISTIO_META_DNS_CAPTURE}: on unless set to something other than {@code true}
   * @param address {@code ISTIO_META_DNS_PROXY_ADDR}, default localhost:15053
   * @param preferredServiceNamespace {@code PREFERED_SERVICE_NAMESPACE} (sic)
   */
  public record Dns(boolean enabled, ListenAddress address, Optional<String> preferredServiceNamespace) {
    public Dns {
      requireNonNull(address, "address");
      requireNonNull(preferredServiceNamespace, "preferredServiceNamespace");
    }
  }

  /** In-pod mode: the ZDS socket and SO_REUSEPORT on in-pod listeners. */
  public record InPod(String uds, boolean portReuse) {
    public InPod {
      requireNonNull(uds, "uds");
    }
  }

  /** {@code ENABLE_ORIG_SRC}. */
  public enum OrigSrc {
    /** Unset: spoof the source when IP_TRANSPARENT is available. */
    AUTO,
    /** {@code true}: IP_TRANSPARENT is required. */
    ENABLED,
    /** {@code false}: never spoof the source address. */
    DISABLED
  }

  /**
   * TCP keepalive on accepted and dialled sockets.
   *
   * @param enabled {@code KEEPALIVE_ENABLED}
   * @param time {@code KEEPALIVE_TIME}: idle time before the first probe
   * @param interval {@code KEEPALIVE_INTERVAL}
   * @param retries {@code KEEPALIVE_RETRIES}
   * @param userTimeoutEnabled {@code USER_TIMEOUT_ENABLED}
   */
  public record Keepalive(boolean enabled, Duration time, Duration interval, int retries, boolean userTimeoutEnabled) {
    public Keepalive {
      requireNonNull(time, "time");
      requireNonNull(interval, "interval");
    }

    /** TCP_USER_TIMEOUT = time + retries × interval, when enabled. */
    public Optional<Duration> userTimeout() {
      return userTimeoutEnabled ? Optional.of(time.plus(interval.multipliedBy(retries))) : Optional.empty();
    }
  }

  /**
   * HBONE's HTTP/2 (spec §4.4) and pool (§4.6) settings; windows and frame size apply to both sides.
   *
   * @param client the outbound side, also {@code pool.http2()}
   * @param server the inbound 15008 listener
   * @param pool {@code POOL_MAX_STREAMS_PER_CONNECTION}, {@code POOL_UNUSED_RELEASE_TIMEOUT}
   */
  public record Hbone(Http2Config client, Http2Config server, PoolConfig pool) {
    public Hbone {
      requireNonNull(client, "client");
      requireNonNull(server, "server");
      requireNonNull(pool, "pool");
    }
  }

  /** {@code COMPLIANCE_POLICY}. */
  public enum CompliancePolicy {
    /** Unset or empty: the provider's default groups. */
    NONE,
    /** {@code pqc}: key exchange limited to X25519MLKEM768. */
    PQC
  }

  /**
   * TLS knobs.
   *
   * @param tls12Enabled {@code TLS12_ENABLED}
   * @param compliancePolicy {@code COMPLIANCE_POLICY}
   * @param crlPath {@code CRL_PATH}
   */
  public record Tls(boolean tls12Enabled, CompliancePolicy compliancePolicy, Optional<String> crlPath) {
    public Tls {
      requireNonNull(compliancePolicy, "compliancePolicy");
      requireNonNull(crlPath, "crlPath");
    }
  }

  /** {@code LOG_FORMAT}. */
  public enum LogFormat {
    PLAIN,
    JSON
  }

  /**
   * Logging.
   *
   * @param filter {@code RUST_LOG}, e.g. {@code info} or {@code info,xds=debug}
   * @param format {@code LOG_FORMAT}
   * @param authzPolicyInfo {@code AUTHZ_POLICY_INFO_LOGGING}: policy decisions at info instead of debug
   */
  public record Logging(String filter, LogFormat format, boolean authzPolicyInfo) {
    public Logging {
      requireNonNull(filter, "filter");
      requireNonNull(format, "format");
    }
  }

  /**
   * The parts of Istio's ProxyConfig ({@code PROXY_CONFIG}, YAML or JSON) ztunnel uses (spec §3.2).
   *
   * @param discoveryAddress default for {@code XDS_ADDRESS} and {@code CA_ADDRESS}
   * @param proxyAdminPort admin listener port, default 15000
   * @param statsPort metrics listener port, default 15020
   * @param concurrency worker threads when {@code ZTUNNEL_WORKER_THREADS} is unset: {@code >0} fixed, {@code 0} all CPUs
   * @param proxyMetadata node metadata with {@code ISTIO_META_} stripped from keys; {@code ISTIO_META_*}
   *     environment variables override it
   */
  public record ProxyConfig(Optional<String> discoveryAddress, int proxyAdminPort, int statsPort,
      Optional<Integer> concurrency, Map<String, String> proxyMetadata) {
    public ProxyConfig {
      requireNonNull(discoveryAddress, "discoveryAddress");
      requireNonNull(concurrency, "concurrency");
      proxyMetadata = Collections.unmodifiableMap(new TreeMap<>(proxyMetadata));
    }

    static ProxyConfig defaults() {
      return new ProxyConfig(Optional.empty(), PORT_ADMIN, PORT_STATS, Optional.empty(), Map.of());
    }
  }

  /** Where the bearer token comes from (spec §8.4); checks whether the file exists, so call it at use. */
  public TokenSource tokenSource() {
    return TokenSource.fromAuthToken(authToken.setting().orElse(null), TokenSource.DEFAULT_TOKEN_PATH);
  }

  /**
   * Reads ztunnel's mesh config file ({@code ./etc/istio/config/mesh}, relative to the working
   * directory, as upstream): its content, or null when the file does not exist.
   *
   * @throws ZtunnelConfigException when it exists but cannot be read
   */
  public static @Nullable String readMeshConfig(java.nio.file.Path file) {
    try {
      return java.nio.file.Files.readString(file);
    } catch (java.nio.file.NoSuchFileException e) {
      return null;
    } catch (java.io.IOException | java.io.UncheckedIOException e) {
      throw new ZtunnelConfigException(List.of(new ZtunnelConfigException.Problem(
          ProxyConfigParser.MESH_CONFIG, file.toString(), "cannot read: " + e.getMessage())));
    }
  }

  /** The mesh config file ztunnel reads, relative to the working directory. */
  public static final String MESH_CONFIG_FILE = ProxyConfigParser.MESH_CONFIG_PATH;

  /** {@link #fromEnvironment(Map, int)} with this machine's processor count. */
  public static ZtunnelConfig fromEnvironment(Map<String, String> env) {
    return fromEnvironment(env, Runtime.getRuntime().availableProcessors());
  }

  /**
   * Parses and validates the environment (spec §3.3). Pure: reads nothing but its arguments.
   *
   * @param env environment variables (in production {@code System.getenv()})
   * @param availableProcessors CPUs visible to the process, for the worker-thread rules
   * @throws ZtunnelConfigException listing every invalid or conflicting variable
   */
  public static ZtunnelConfig fromEnvironment(Map<String, String> env, int availableProcessors) {
    return fromEnvironment(env, availableProcessors, null);
  }

  /**
   * Parses and validates the environment and the mesh config file (spec §3.2, §3.3). Pure.
   *
   * @param env environment variables (in production {@code System.getenv()})
   * @param availableProcessors CPUs visible to the process, for the worker-thread rules
   * @param meshConfig content of {@code ./etc/istio/config/mesh} ({@link #readMeshConfig}), or null
   *     when there is none; its {@code defaultConfig} is overridden by {@code PROXY_CONFIG}
   * @throws ZtunnelConfigException listing every invalid or conflicting variable
   */
  public static ZtunnelConfig fromEnvironment(Map<String, String> env, int availableProcessors,
      @Nullable String meshConfig) {
    requireNonNull(env, "env");
    if (availableProcessors < 1) {
      throw new IllegalArgumentException("availableProcessors must be at least 1");
    }
    EnvReader envReader = new EnvReader(env);
    ProxyConfig proxyConfig = ProxyConfigParser.parse(envReader, meshConfig);
    // proxyMetadata is node metadata that ISTIO_META_* variables override (spec §2.3, §3.2); the
    // DNS and cluster settings read below see both.
    Map<String, String> metadata = new TreeMap<>();
    proxyConfig.proxyMetadata().forEach((k, v) -> metadata.put("ISTIO_META_" + k, v));
    EnvReader r = envReader.withFallbacks(metadata);

    ProxyMode mode = proxyMode(r);
    Optional<WorkloadInfo> workloadInfo = workloadInfo(r, mode);

    String defaultIstiod = proxyConfig.discoveryAddress()
        .map(a -> a.contains("://") ? a : "https://" + a)
        .orElse(r.isSet("KUBERNETES_SERVICE_HOST") ? DEFAULT_ISTIOD_IN_CLUSTER : DEFAULT_ISTIOD_LOCAL);
    ControlPlane xds = new ControlPlane(address(r, "XDS_ADDRESS", defaultIstiod),
        r.string("XDS_ROOT_CA", DEFAULT_ROOT_CA), r.optional("ALT_XDS_HOSTNAME"), headers(r, "XDS_HEADER_"));
    ControlPlane ca = new ControlPlane(address(r, "CA_ADDRESS", defaultIstiod),
        r.string("CA_ROOT_CA", DEFAULT_ROOT_CA), r.optional("ALT_CA_HOSTNAME"), headers(r, "CA_HEADER_"));
    boolean fakeCa = r.bool("FAKE_CA", false);
    AuthToken token = new AuthToken(r.optional("AUTH_TOKEN"));

    Optional<String> instanceIp = r.optional("INSTANCE_IP");
    if (instanceIp.isPresent() && !EnvReader.isIpLiteral(instanceIp.get())) {
      r.problem("INSTANCE_IP", instanceIp.get(), "not an IP address");
    }
    Identity identity = new Identity(
        r.optional("ISTIO_META_CLUSTER_ID").or(() -> r.optional("CLUSTER_ID")).orElse(DEFAULT_CLUSTER_ID),
        r.optional("CLUSTER_DOMAIN").orElse(DEFAULT_CLUSTER_DOMAIN),
        r.string("NETWORK", ""),
        r.optional("NODE_NAME"), instanceIp, r.optional("POD_NAME"), r.optional("POD_NAMESPACE"),
        r.optional("SERVICE_ACCOUNT"), r.optional("TRUST_DOMAIN").orElse(DEFAULT_TRUST_DOMAIN));

    boolean onDemand = r.bool("XDS_ON_DEMAND", false);
    LocalXds localXds = localXds(r);
    Duration secretTtl = r.duration("SECRET_TTL", DEFAULT_SECRET_TTL, Duration.ofSeconds(1));

    boolean proxyEnabled = r.bool("ENABLE_PROXY", true);
    boolean ipv6 = r.bool("IPV6_ENABLED", true);
    boolean socks5 = r.bool("UNSTABLE_ENABLE_SOCKS5", false);
    Listeners listeners = new Listeners(
        ListenAddress.wildcard(ipv6, PORT_OUTBOUND),
        ListenAddress.wildcard(ipv6, PORT_INBOUND_PLAINTEXT),
        ListenAddress.wildcard(ipv6, PORT_INBOUND_HBONE),
        ListenAddress.localhost(proxyConfig.proxyAdminPort()),
        ListenAddress.wildcard(ipv6, proxyConfig.statsPort()),
        ListenAddress.wildcard(ipv6, PORT_READINESS),
        socks5 ? Optional.of(new ListenAddress("127.0.0.1", PORT_SOCKS5)) : Optional.empty());

    // Not a strict boolean: ztunnel compares the metadata value with "true", ignoring case.
    String dnsCapture = r.raw("ISTIO_META_DNS_CAPTURE");
    boolean dnsEnabled = dnsCapture == null || dnsCapture.equalsIgnoreCase("true");
    Dns dns = new Dns(dnsEnabled, dnsAddress(r), r.optional("PREFERED_SERVICE_NAMESPACE"));
    if (dnsEnabled && onDemand) {
      r.problem("ISTIO_META_DNS_CAPTURE+XDS_ON_DEMAND", (dnsCapture == null ? EnvReader.UNSET : dnsCapture) + "+true",
          "the DNS proxy cannot be used with on-demand xDS; set ISTIO_META_DNS_CAPTURE=false or XDS_ON_DEMAND=false");
    }
    if (!dnsEnabled && !proxyEnabled) {
      r.problem("ENABLE_PROXY+ISTIO_META_DNS_CAPTURE", "false+" + dnsCapture,
          "both the proxy and the DNS proxy are disabled: nothing to run");
    }

    InPod inPod = new InPod(r.optional("INPOD_UDS").orElse(DEFAULT_INPOD_UDS), r.bool("INPOD_PORT_REUSE", true));
    Optional<Integer> packetMark = packetMark(r, mode);
    OrigSrc origSrc = switch (r.raw("ENABLE_ORIG_SRC")) {
      case null -> OrigSrc.AUTO;
      case "true" -> OrigSrc.ENABLED;
      case "false" -> OrigSrc.DISABLED;
      default -> {
        r.problem("ENABLE_ORIG_SRC", r.raw("ENABLE_ORIG_SRC"), "must be exactly true or false (or unset for auto)");
        yield OrigSrc.AUTO;
      }
    };
    Keepalive keepalive = new Keepalive(
        r.bool("KEEPALIVE_ENABLED", true),
        r.duration("KEEPALIVE_TIME", DEFAULT_KEEPALIVE_TIME, Duration.ofSeconds(1)),
        r.duration("KEEPALIVE_INTERVAL", DEFAULT_KEEPALIVE_INTERVAL, Duration.ofSeconds(1)),
        (int) r.integer("KEEPALIVE_RETRIES", DEFAULT_KEEPALIVE_RETRIES, 0, Integer.MAX_VALUE),
        r.bool("USER_TIMEOUT_ENABLED", false));
    Hbone hbone = hbone(r);
    Duration deadline = terminationDeadline(r);
    int workers = workerThreads(r, availableProcessors, proxyConfig.concurrency());
    Tls tls = new Tls(r.bool("TLS12_ENABLED", false), compliancePolicy(r), r.optional("CRL_PATH"));
    Logging logging = new Logging(r.optional("RUST_LOG").orElse(DEFAULT_LOG_FILTER), logFormat(r),
        r.bool("AUTHZ_POLICY_INFO_LOGGING", false));
    boolean baggage = r.bool("ENABLE_RESPONSE_BAGGAGE", true);
    boolean localhostAppTunnel = r.bool("LOCALHOST_APP_TUNNEL", true);

    r.throwIfAny();
    return new ZtunnelConfig(mode, workloadInfo, xds, ca, fakeCa, token, identity, NodeInfo.of(env, proxyConfig.proxyMetadata()),
        r.optional("ISTIO_META_ISTIO_VERSION").orElse(DEFAULT_ISTIO_VERSION), onDemand, localXds, secretTtl,
        proxyEnabled, ipv6, listeners, dns, inPod, packetMark, origSrc, keepalive, hbone, deadline, workers, tls,
        logging, baggage, localhostAppTunnel, proxyConfig);
  }

  private static ProxyMode proxyMode(EnvReader r) {
    String v = r.raw("PROXY_MODE");
    if (v == null) {
      return ProxyMode.SHARED;
    }
    return switch (v) {
      case "shared" -> ProxyMode.SHARED;
      case "dedicated" -> ProxyMode.DEDICATED;
      default -> {
        r.problem("PROXY_MODE", v, "must be shared or dedicated");
        yield ProxyMode.SHARED;
      }
    };
  }

  private static Optional<WorkloadInfo> workloadInfo(EnvReader r, ProxyMode mode) {
    String v = r.raw("PROXY_WORKLOAD_INFO");
    if (v == null || v.isEmpty()) {
      if (mode == ProxyMode.DEDICATED) {
        r.problem("PROXY_WORKLOAD_INFO", v, "required when PROXY_MODE=dedicated (namespace/name/serviceAccount)");
      }
      return Optional.empty();
    }
    String[] parts = v.split("/", -1);
    if (parts.length != 3 || parts[0].isEmpty() || parts[1].isEmpty() || parts[2].isEmpty()) {
      r.problem("PROXY_WORKLOAD_INFO", v, "must be namespace/name/serviceAccount");
      return Optional.empty();
    }
    return Optional.of(new WorkloadInfo(parts[0], parts[1], parts[2]));
  }

  /** Unset: the default; empty: disabled; no scheme: {@code https://} prepended. */
  private static Optional<String> address(EnvReader r, String name, String dflt) {
    String v = r.raw(name);
    if (v == null) {
      return Optional.of(dflt);
    }
    if (v.isEmpty()) {
      return Optional.empty();
    }
    String url = v.contains("://") ? v : "https://" + v;
    java.net.URI uri;
    try {
      uri = new java.net.URI(url);
    } catch (java.net.URISyntaxException e) {
      r.problem(name, v, "not a URL (" + e.getReason() + ")");
      return Optional.of(dflt);
    }
    String scheme = uri.getScheme().toLowerCase(Locale.ROOT);
    if (!scheme.equals("https") && !scheme.equals("http")) {
      r.problem(name, v, "scheme must be https or http");
      return Optional.of(dflt);
    }
    if (uri.getHost() == null || uri.getHost().isEmpty()) {
      r.problem(name, v, "has no host");
      return Optional.of(dflt);
    }
    return Optional.of(url);
  }

  private static Map<String, String> headers(EnvReader r, String prefix) {
    Map<String, String> headers = new TreeMap<>();
    for (Map.Entry<String, String> e : new TreeMap<>(r.env()).entrySet()) {
      String k = e.getKey();
      if (!k.startsWith(prefix)) {
        continue;
      }
      String name = k.substring(prefix.length());
      if (!HEADER_NAME.matcher(name).matches()) {
        r.problem(k, e.getValue(), "the header name \"" + name + "\" is not a valid gRPC metadata key");
      } else if (!HEADER_VALUE.matcher(e.getValue()).matches()) {
        r.problem(k, e.getValue(), "the header value must be printable ASCII");
      } else {
        headers.put(name.toLowerCase(Locale.ROOT), e.getValue());
      }
    }
    return headers;
  }

  private static LocalXds localXds(EnvReader r) {
    Optional<String> path = r.optional("LOCAL_XDS_PATH");
    Optional<String> inline = r.optional("LOCAL_XDS");
    if (path.isPresent() && inline.isPresent()) {
      r.problem("LOCAL_XDS_PATH+LOCAL_XDS", path.get() + "+<inline>", "set at most one of them");
      return new LocalXds.None();
    }
    if (path.isPresent()) {
      return new LocalXds.FromFile(path.get());
    }
    return inline.<LocalXds>map(LocalXds.Inline::new).orElseGet(LocalXds.None::new);
  }

  /** {@code localhost:<port>}, {@code <ipv4>:<port>} or {@code [<ipv6>]:<port>}. */
  private static ListenAddress dnsAddress(EnvReader r) {
    String name = "ISTIO_META_DNS_PROXY_ADDR";
    ListenAddress dflt = ListenAddress.localhost(PORT_DNS);
    String v = r.raw(name);
    if (v == null || v.isEmpty()) {
      return dflt;
    }
    int colon = v.lastIndexOf(':');
    if (colon < 0) {
      r.problem(name, v, "must be host:port");
      return dflt;
    }
    String host = v.substring(0, colon);
    String portText = v.substring(colon + 1);
    if (host.startsWith("[") && host.endsWith("]")) {
      host = host.substring(1, host.length() - 1);
      if (!host.contains(":")) {
        r.problem(name, v, "brackets are for IPv6 addresses");
        return dflt;
      }
    } else if (host.contains(":")) {
      r.problem(name, v, "an IPv6 address must be in brackets");
      return dflt;
    }
    if (!host.equals(ListenAddress.LOCALHOST) && !EnvReader.isIpLiteral(host)) {
      r.problem(name, v, "the host must be localhost or an IP address");
      return dflt;
    }
    int port;
    try {
      port = Integer.parseInt(portText);
    } catch (NumberFormatException e) {
      r.problem(name, v, "the port is not a number");
      return dflt;
    }
    if (port < 1 || port > 65_535) {
      r.problem(name, v, "the port must be within 1..65535");
      return dflt;
    }
    return new ListenAddress(host, port);
  }

  /** Decimal or {@code 0x} hexadecimal u32; default 1337 in shared mode, none in dedicated. */
  private static Optional<Integer> packetMark(EnvReader r, ProxyMode mode) {
    Optional<Integer> dflt = mode == ProxyMode.SHARED ? Optional.of(DEFAULT_PACKET_MARK_SHARED) : Optional.empty();
    String v = r.raw("PACKET_MARK");
    if (v == null || v.isEmpty()) {
      return dflt;
    }
    long mark;
    try {
      mark = v.startsWith("0x") || v.startsWith("0X") ? Long.parseLong(v.substring(2), 16) : Long.parseLong(v);
    } catch (NumberFormatException e) {
      r.problem("PACKET_MARK", v, "not a number (decimal or 0x hex)");
      return dflt;
    }
    if (mark < 0 || mark > MAX_U32) {
      r.problem("PACKET_MARK", v, "must be a 32-bit unsigned number");
      return dflt;
    }
    return Optional.of((int) mark);
  }

  private static Hbone hbone(EnvReader r) {
    int stream = (int) r.integer("HTTP2_STREAM_WINDOW_SIZE", DEFAULT_HTTP2_STREAM_WINDOW_BYTES, 65_535,
        HTTP2_MAX_WINDOW_BYTES);
    int connection = (int) r.integer("HTTP2_CONNECTION_WINDOW_SIZE", DEFAULT_HTTP2_CONNECTION_WINDOW_BYTES, 65_535,
        HTTP2_MAX_WINDOW_BYTES);
    int frame = (int) r.integer("HTTP2_FRAME_SIZE", DEFAULT_HTTP2_FRAME_SIZE_BYTES, 16_384, 16_777_215);
    int maxStreams = (int) r.integer("POOL_MAX_STREAMS_PER_CONNECTION", DEFAULT_POOL_MAX_STREAMS_PER_CONNECTION, 1,
        Integer.MAX_VALUE);
    Duration idle = r.duration("POOL_UNUSED_RELEASE_TIMEOUT", DEFAULT_POOL_UNUSED_RELEASE_TIMEOUT, Duration.ofMillis(1));
    // The client first assumes the pool's cap as the server's stream limit (spec §4.4).
    Http2Config client = Http2Config.clientDefaults().withWindows(stream, connection).withMaxFrameSize(frame)
        .withMaxConcurrentStreams(maxStreams);
    Http2Config server = Http2Config.serverDefaults().withWindows(stream, connection).withMaxFrameSize(frame);
    PoolConfig pool = PoolConfig.defaults().withMaxStreamsPerConnection(maxStreams).withIdleTimeout(idle)
        .withHttp2(client);
    return new Hbone(client, server, pool);
  }

  /**
   * {@code CONNECTION_TERMINATION_DEADLINE} when set; else from {@code TERMINATION_GRACE_PERIOD_SECONDS}
   * (above 10: minus 5 s, else minus 1 s, at least 1 s); else 5 s.
   */
  private static Duration terminationDeadline(EnvReader r) {
    if (r.isSet("CONNECTION_TERMINATION_DEADLINE")) {
      return r.duration("CONNECTION_TERMINATION_DEADLINE", DEFAULT_TERMINATION_DEADLINE, Duration.ZERO);
    }
    if (r.isSet("TERMINATION_GRACE_PERIOD_SECONDS")) {
      long grace = r.integer("TERMINATION_GRACE_PERIOD_SECONDS", -1, 0, Long.MAX_VALUE / 1_000_000_000L);
      if (grace < 0) {
        return DEFAULT_TERMINATION_DEADLINE;
      }
      long seconds = grace > GRACE_PERIOD_THRESHOLD_SECONDS ? grace - 5 : grace - 1;
      return Duration.ofSeconds(Math.max(1, seconds));
    }
    return DEFAULT_TERMINATION_DEADLINE;
  }

  /**
   * {@code ZTUNNEL_WORKER_THREADS} = {@code N}, {@code N%} of the CPUs (rounded up, at least 1) or
   * {@code 0} (all CPUs). Unset: ProxyConfig {@code concurrency} ({@code >0} fixed, {@code 0} all
   * CPUs); without it, a CPU limit ({@code ZTUNNEL_CPU_LIMIT}, else
   * {@code ZTUNNEL_RESOURCE_CPU_LIMIT}; a Kubernetes quantity rounded up) raised to the request
   * ({@code ZTUNNEL_RESOURCE_CPU_REQUEST}); without a limit, 25% of the CPUs rounded up, raised to
   * the request and to 2.
   */
  private static int workerThreads(EnvReader r, int cpus, Optional<Integer> concurrency) {
    String name = "ZTUNNEL_WORKER_THREADS";
    String v = r.raw(name);
    int fallback = Math.max(AUTO_WORKER_THREADS_MIN, ceilPercent(cpus, AUTO_WORKER_THREADS_PERCENT));
    if (v != null) {
      if (v.endsWith("%")) {
        String pct = v.substring(0, v.length() - 1);
        double percent;
        try {
          percent = Double.parseDouble(pct);
        } catch (NumberFormatException e) {
          percent = Double.NaN;
        }
        if (!pct.matches("\\d+(\\.\\d+)?") || Double.isNaN(percent)) {
          r.problem(name, v, "not a percentage (N%)");
          return fallback;
        }
        if (percent <= 0 || percent > 100) {
          r.problem(name, v, "the percentage must be greater than 0 and at most 100");
          return fallback;
        }
        return Math.max(1, (int) Math.ceil(cpus * percent / 100.0));
      }
      long n = r.integer(name, -1, 0, MAX_WORKER_THREADS);
      if (n < 0) {
        return fallback;
      }
      return n == 0 ? cpus : (int) n;
    }
    if (concurrency.isPresent()) {
      return concurrency.get() == 0 ? cpus : concurrency.get();
    }
    Optional<Integer> request = cpuQuantity(r, "ZTUNNEL_RESOURCE_CPU_REQUEST");
    Optional<Integer> limit = r.isSet("ZTUNNEL_CPU_LIMIT")
        ? cpuQuantity(r, "ZTUNNEL_CPU_LIMIT")
        : cpuQuantity(r, "ZTUNNEL_RESOURCE_CPU_LIMIT");
    int floor = request.orElse(1);
    if (limit.isPresent()) {
      return Math.max(limit.get(), floor);
    }
    return Math.max(Math.max(ceilPercent(cpus, AUTO_WORKER_THREADS_PERCENT), floor), AUTO_WORKER_THREADS_MIN);
  }

  private static int ceilPercent(int cpus, int percent) {
    return Math.max(1, (cpus * percent + 99) / 100);
  }

  private static Optional<Integer> cpuQuantity(EnvReader r, String name) {
    Optional<String> v = r.optional(name);
    if (v.isEmpty()) {
      return Optional.empty();
    }
    Optional<Integer> q = EnvReader.parseCpuQuantity(v.get());
    if (q.isEmpty()) {
      r.problem(name, v.get(), "not a Kubernetes CPU quantity (e.g. 2, 1.5, 500m)");
    }
    return q;
  }

  private static CompliancePolicy compliancePolicy(EnvReader r) {
    String v = r.raw("COMPLIANCE_POLICY");
    if (v == null || v.isEmpty()) {
      return CompliancePolicy.NONE;
    }
    if (v.equals("pqc")) {
      return CompliancePolicy.PQC;
    }
    r.problem("COMPLIANCE_POLICY", v, "must be empty or pqc");
    return CompliancePolicy.NONE;
  }

  private static LogFormat logFormat(EnvReader r) {
    String v = r.raw("LOG_FORMAT");
    if (v == null || v.isEmpty()) {
      return LogFormat.PLAIN;
    }
    return switch (v) {
      case "plain" -> LogFormat.PLAIN;
      case "json" -> LogFormat.JSON;
      default -> {
        r.problem("LOG_FORMAT", v, "must be plain or json");
        yield LogFormat.PLAIN;
      }
    };
  }
}
