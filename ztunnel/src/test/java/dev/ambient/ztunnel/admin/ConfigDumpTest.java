package dev.ambient.ztunnel.admin;

import static dev.ambient.ztunnel.state.Fixtures.gwHost;
import static dev.ambient.ztunnel.state.Fixtures.ip;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.ambient.identity.Pem;
import dev.ambient.identity.SpiffeId;
import dev.ambient.identity.TrustBundle;
import dev.ambient.identity.WorkloadCertificate;
import dev.ambient.testing.IssuedCertificate;
import dev.ambient.testing.TestCa;
import dev.ambient.xds.ca.CaException;
import dev.ambient.xds.ca.SecretManager;
import dev.ambient.xds.client.Authorization;
import dev.ambient.xds.client.Authorization.StringMatch;
import dev.ambient.xds.client.LoadBalancing;
import dev.ambient.xds.client.Port;
import dev.ambient.xds.client.Service;
import dev.ambient.xds.client.Workload;
import dev.ambient.ztunnel.ZtunnelConfig;
import dev.ambient.ztunnel.state.Endpoint;
import dev.ambient.ztunnel.state.Fixtures;
import dev.ambient.ztunnel.state.ProxyState;
import dev.ambient.ztunnel.state.ServiceEntry;
import dev.ambient.ztunnel.state.StateHolder;
import dev.ambient.ztunnel.state.StateUpdater;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.Collection;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The {@code /config_dump} document built from a real {@link ProxyState}. */
class ConfigDumpTest {
  static final String SVC_KEY = "default/echo.default.svc.cluster.local";
  static final String MISSING_KEY = "default/later.default.svc.cluster.local";
  static final SpiffeId ECHO_ID = SpiffeId.of("cluster.local", "default", "echo");

  private ProxyState state;

  @BeforeEach
  void buildState() {
    StateUpdater updater = new StateUpdater(new StateHolder());
    state = updater.apply(Fixtures.push(
        Fixtures.workload("echo-1").ip("198.18.0.10").sa("echo")
            .waypoint(gwHost("default", "waypoint.default.svc.cluster.local", 15008))
            .locality("region-a", "zone-b", "")
            .in(SVC_KEY, new Port(80, 8080))
            .build(),
        Fixtures.workload("legacy").ip("2001:db8::2").tcp().unhealthy()
            .in(MISSING_KEY, new Port(80, 9090))
            .build(),
        Fixtures.service("echo").vip("198.18.100.1").cidr("198.18.200.0", 24).port(80, 8080)
            .san("spiffe://cluster.local/ns/default/sa/echo")
            .lb(LoadBalancing.Mode.FAILOVER, LoadBalancing.Scope.REGION, LoadBalancing.Scope.ZONE)
            .families(Service.IpFamilies.IPV4_ONLY)
            .build()));
  }

  /** Wires the dump the way the runtime will: from the state snapshot and the other stores. */
  static ConfigDump.Sources sources(ProxyState state, Map<SpiffeId, SecretManager.CertState> certs) {
    return new ConfigDump.Sources() {
      @Override
      public Collection<Workload> workloads() {
        return state.workloads();
      }

      @Override
      public Collection<ServiceEntry> services() {
        return List.of(state.serviceByKey(SVC_KEY).orElseThrow());
      }

      @Override
      public Map<String, Map<String, Endpoint>> stagedServices() {
        return Map.of(MISSING_KEY, state.stagedEndpoints(MISSING_KEY));
      }

      @Override
      public Collection<Authorization> policies() {
        return List.of(policy());
      }

      @Override
      public BuildInfo version() {
        return BuildInfo.current("1.28.0");
      }

      @Override
      public Object config() {
        return new SampleConfig(Duration.ofSeconds(5), Optional.of(ip("198.18.0.1")), Optional.empty(), 15000);
      }

      @Override
      public Map<SpiffeId, SecretManager.CertState> certificates() {
        return certs;
      }

      @Override
      public Map<String, WorkloadStateDump> workloadState() {
        return Map.of("Kubernetes//Pod/default/echo-1", new WorkloadStateDump("Up", "", List.of(
            new WorkloadStateDump.Connection("198.18.0.20:41000", Optional.of("echo.default:80"), "198.18.0.10:8080",
                "HBONE")), List.of()));
      }
    };
  }

  record SampleConfig(Duration terminationDeadline, Optional<InetAddress> bind, Optional<String> unset, int port) {}

  static Authorization policy() {
    Authorization.Match m = new Authorization.Match(
        List.of(new StringMatch.Exact("client-ns")), List.of(), List.of(new StringMatch.Presence()), List.of(),
        List.of(new Authorization.IpNet(ip("198.18.0.0"), 16)), List.of(), List.of(), List.of(),
        List.of(8080), List.of(), List.of(new Authorization.ServiceAccountMatch("client-ns", "client")), List.of());
    return new Authorization("allow-client", "default", Authorization.Scope.NAMESPACE, Authorization.Action.ALLOW,
        List.of(new Authorization.Rule(List.of(new Authorization.Clause(List.of(m))))), false);
  }

  @Test
  void render_topLevelKeysInZtunnelOrder() {
    JsonNode dump = ConfigDump.render(sources(state, Map.of()));
    assertThat(fieldNames(dump)).containsExactly("workloads", "services", "policies", "stagedServices",
        "staticConfig", "version", "config", "certificates", "workloadState");
  }

  @Test
  void workloads_renderedWithZtunnelFieldNames_sortedByUid() {
    JsonNode workloads = ConfigDump.render(sources(state, Map.of())).get("workloads");
    assertThat(workloads).hasSize(2);
    JsonNode echo = workloads.get(0);
    assertThat(echo.get("uid").asText()).isEqualTo("Kubernetes//Pod/default/echo-1");
    assertThat(workloads.get(1).get("uid").asText()).isEqualTo("Kubernetes//Pod/default/legacy");
    assertThat(fieldNames(echo)).contains("uid", "workloadIps", "waypoint", "networkGateway", "protocol", "name",
        "namespace", "serviceAccount", "workloadName", "workloadType", "canonicalName", "canonicalRevision",
        "clusterId", "trustDomain", "locality", "node", "network", "status", "hostname", "capacity", "services");
    assertThat(echo.get("workloadIps").get(0).asText()).isEqualTo("198.18.0.10");
    assertThat(echo.get("protocol").asText()).isEqualTo("HBONE");
    assertThat(echo.get("serviceAccount").asText()).isEqualTo("echo");
    assertThat(echo.get("workloadType").asText()).isEqualTo("deployment");
    assertThat(echo.get("status").asText()).isEqualTo("Healthy");
    assertThat(echo.get("clusterId").asText()).isEqualTo("Kubernetes");
    assertThat(echo.at("/locality/region").asText()).isEqualTo("region-a");
    assertThat(echo.at("/waypoint/destination/Hostname/hostname").asText())
        .isEqualTo("waypoint.default.svc.cluster.local");
    assertThat(echo.at("/waypoint/hboneMtlsPort").asInt()).isEqualTo(15008);
    assertThat(echo.get("networkGateway").isNull()).isTrue();
    assertThat(echo.get("services").get(SVC_KEY).get("80").asInt()).isEqualTo(8080);

    JsonNode legacy = workloads.get(1);
    assertThat(legacy.get("protocol").asText()).isEqualTo("TCP");
    assertThat(legacy.get("status").asText()).isEqualTo("Unhealthy");
    assertThat(legacy.get("workloadIps").get(0).asText()).isEqualTo("2001:db8:0:0:0:0:0:2");
  }

  @Test
  void services_vipsPortsEndpointsAndPolicies() {
    JsonNode svc = ConfigDump.render(sources(state, Map.of())).get("services").get(0);
    assertThat(svc.get("hostname").asText()).isEqualTo("echo.default.svc.cluster.local");
    assertThat(svc.get("vips")).extracting(JsonNode::asText).containsExactly("/198.18.100.1", "/198.18.200.0/24");
    assertThat(svc.at("/ports/80").asInt()).isEqualTo(8080);
    JsonNode ep = svc.get("endpoints").get("Kubernetes//Pod/default/echo-1");
    assertThat(ep.get("workloadUid").asText()).isEqualTo("Kubernetes//Pod/default/echo-1");
    assertThat(ep.at("/port/80").asInt()).isEqualTo(8080);
    assertThat(svc.get("subjectAltNames").get(0).asText()).isEqualTo("spiffe://cluster.local/ns/default/sa/echo");
    assertThat(svc.at("/loadBalancer/mode").asText()).isEqualTo("Failover");
    assertThat(svc.at("/loadBalancer/routingPreferences")).extracting(JsonNode::asText).containsExactly("Region", "Zone");
    assertThat(svc.at("/loadBalancer/healthPolicy").asText()).isEqualTo("OnlyHealthy");
    assertThat(svc.get("ipFamilies").asText()).isEqualTo("IPv4");
    assertThat(svc.get("waypoint").isNull()).isTrue();
  }

  @Test
  void stagedServices_policies_config_workloadState() {
    JsonNode dump = ConfigDump.render(sources(state, Map.of()));
    assertThat(dump.at("/stagedServices/" + MISSING_KEY.replace("/", "~1") + "/Kubernetes~1~1Pod~1default~1legacy/port/80")
        .asInt()).isEqualTo(9090);

    JsonNode p = dump.get("policies").get(0);
    assertThat(p.get("name").asText()).isEqualTo("allow-client");
    assertThat(p.get("scope").asText()).isEqualTo("Namespace");
    assertThat(p.get("action").asText()).isEqualTo("Allow");
    JsonNode match = p.get("rules").get(0).get(0).get(0);
    assertThat(match.at("/namespaces/0/Exact").asText()).isEqualTo("client-ns");
    assertThat(match.at("/principals/0").asText()).isEqualTo("Presence");
    assertThat(match.at("/sourceIps/0").asText()).isEqualTo("198.18.0.0/16");
    assertThat(match.at("/destinationPorts/0").asInt()).isEqualTo(8080);
    assertThat(match.at("/serviceAccounts/0/serviceAccount").asText()).isEqualTo("client");

    assertThat(dump.at("/version/istioVersion").asText()).isEqualTo("1.28.0");
    assertThat(fieldNames(dump.get("version"))).containsExactlyInAnyOrder("version", "gitRevision", "rustVersion",
        "buildProfile", "buildStatus", "istioVersion", "cryptoProvider");
    assertThat(dump.at("/config/terminationDeadline").asText()).isEqualTo("PT5S");
    assertThat(dump.at("/config/bind").asText()).isEqualTo("198.18.0.1");
    assertThat(dump.at("/config/unset").isNull()).isTrue();
    assertThat(dump.get("staticConfig").isNull()).isTrue();

    JsonNode ws = dump.get("workloadState").get("Kubernetes//Pod/default/echo-1");
    assertThat(ws.get("state").asText()).isEqualTo("Up");
    assertThat(ws.at("/connections/inbound/0/originalDst").asText()).isEqualTo("echo.default:80");
    assertThat(ws.at("/connections/inbound/0/protocol").asText()).isEqualTo("HBONE");
    assertThat(ws.at("/connections/outbound")).isEmpty();
  }

  @Test
  void certificates_availableWithBase64PemChainAndRoots_initializing_unavailable() throws Exception {
    TestCa ca = TestCa.create("cluster.local");
    IssuedCertificate issued = ca.issue(ECHO_ID.toString());
    WorkloadCertificate cert = WorkloadCertificate.of(
        issued.privateKey(), issued.leaf(), issued.intermediates(), TrustBundle.of(issued.root()));
    Map<SpiffeId, SecretManager.CertState> certs = new LinkedHashMap<>();
    certs.put(SpiffeId.of("cluster.local", "zz", "pending"), new SecretManager.Initializing(SecretManager.Priority.WARMUP));
    certs.put(ECHO_ID, new SecretManager.Available(cert));
    certs.put(SpiffeId.of("cluster.local", "aa", "broken"),
        new SecretManager.Unavailable(new CaException(CaException.Reason.CA_CALL_FAILED, "istiod unreachable")));

    JsonNode list = ConfigDump.render(sources(state, certs)).get("certificates");
    assertThat(list).extracting(n -> n.get("identity").asText()).containsExactly(
        "spiffe://cluster.local/ns/aa/sa/broken", "spiffe://cluster.local/ns/default/sa/echo",
        "spiffe://cluster.local/ns/zz/sa/pending");
    assertThat(list.get(0).get("state").asText()).startsWith("Unavailable: ").contains("istiod unreachable");
    assertThat(list.get(0).get("certChain")).isEmpty();
    assertThat(list.get(2).get("state").asText()).isEqualTo("Initializing");

    JsonNode available = list.get(1);
    assertThat(available.get("state").asText()).isEqualTo("Available");
    assertThat(available.get("certChain")).hasSize(cert.chain().size());
    JsonNode leaf = available.get("certChain").get(0);
    String pem = new String(Base64.getDecoder().decode(leaf.get("pem").asText()), StandardCharsets.US_ASCII);
    assertThat(Pem.certificates(pem)).containsExactly(issued.leaf());
    assertThat(leaf.get("serialNumber").asText()).isEqualTo(issued.leaf().getSerialNumber().toString());
    assertThat(leaf.get("validFrom").asText()).isEqualTo(issued.leaf().getNotBefore().toInstant().toString());
    assertThat(leaf.get("expirationTime").asText()).isEqualTo(issued.leaf().getNotAfter().toInstant().toString());
    JsonNode root = available.get("rootCerts").get(0);
    assertThat(Pem.certificates(new String(Base64.getDecoder().decode(root.get("pem").asText()),
        StandardCharsets.US_ASCII))).containsExactly(issued.root());
  }

  @Test
  void failingSection_renderedAsError_restOfDumpStillThere() throws Exception {
    ConfigDump.Sources broken = new ConfigDump.Sources() {
      @Override
      public Collection<Workload> workloads() {
        return state.workloads();
      }

      @Override
      public Object config() {
        throw new IllegalStateException("config unavailable");
      }
    };
    JsonNode dump = new ObjectMapper().readTree(ConfigDump.toJson(broken));
    assertThat(dump.at("/config/error").asText()).contains("config unavailable");
    assertThat(dump.get("workloads")).hasSize(2);
    assertThat(dump.get("certificates")).isEmpty();
  }

  @Test
  void config_realZtunnelConfig_rendersWithoutErrorAndRedactsTheToken() {
    ZtunnelConfig config = ZtunnelConfig.fromEnvironment(
        Map.of("AUTH_TOKEN", "s3cr3t-literal", "XDS_ADDRESS", "https://198.18.0.5:15012",
            "ISTIO_META_DNS_CAPTURE", "true", "NODE_NAME", "node-a"), 2);
    ConfigDump.Sources sources = new ConfigDump.Sources() {
      @Override
      public Object config() {
        return config;
      }
    };
    JsonNode dump = ConfigDump.render(sources);
    assertThat(dump.get("config").has("error")).as("%s", dump.get("config")).isFalse();
    assertThat(dump.at("/config/terminationDeadline").asText()).isEqualTo("PT5S");
    assertThat(dump.at("/config/authToken").asText()).isEqualTo("<redacted>");
    assertThat(dump.at("/config/node/metadata/DNS_CAPTURE").asText()).isEqualTo("true");
    assertThat(ConfigDump.toJson(sources)).doesNotContain("s3cr3t-literal").contains("198.18.0.5");
  }

  @Test
  void toJson_sameStateTwice_identicalText() {
    assertThat(ConfigDump.toJson(sources(state, Map.of()))).isEqualTo(ConfigDump.toJson(sources(state, Map.of())));
  }

  static List<String> fieldNames(JsonNode node) {
    List<String> names = new java.util.ArrayList<>();
    for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
      names.add(it.next());
    }
    return names;
  }
}
