package dev.ambient.xds.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import com.google.protobuf.Empty;
import dev.ambient.xds.api.security.Action;
import dev.ambient.xds.api.security.Authorization;
import dev.ambient.xds.api.security.Match;
import dev.ambient.xds.api.security.Scope;
import dev.ambient.xds.api.security.ServiceAccountMatch;
import dev.ambient.xds.api.security.StringMatch;
import dev.ambient.xds.api.workload.ApplicationTunnel;
import dev.ambient.xds.api.workload.GatewayAddress;
import dev.ambient.xds.api.workload.IPFamilies;
import dev.ambient.xds.api.workload.LoadBalancing;
import dev.ambient.xds.api.workload.NamespacedHostname;
import dev.ambient.xds.api.workload.NetworkAddress;
import dev.ambient.xds.api.workload.NetworkMode;
import dev.ambient.xds.api.workload.Port;
import dev.ambient.xds.api.workload.Service;
import dev.ambient.xds.api.workload.TunnelProtocol;
import dev.ambient.xds.api.workload.Workload;
import dev.ambient.xds.api.workload.WorkloadStatus;
import dev.ambient.xds.api.workload.WorkloadType;
import java.util.Map;
import org.junit.jupiter.api.Test;

class LocalConfigParserTest {
  /** ztunnel's examples/localhost.yaml, as spec §3.1 describes it. */
  static final String LOCALHOST = """
      workloads:
      - uid: cluster1//v1/Pod/default/local
        name: local
        namespace: default
        serviceAccount: default
        workloadIps: ["127.0.0.1"]
        protocol: HBONE
        node: local
        services:
          "default/example.com":
            80: 8080
          "default/example2.com":
            80: 8080
      - uid: cluster1//v1/Pod/default/local-tcp
        name: local-tcp
        namespace: default
        serviceAccount: default
        workloadIps: ["127.0.0.2"]
        protocol: TCP
        node: local
        services:
          "default/example.com":
            80: 8080
          "default/example2.com":
            80: 8080
      policies:
      - action: Allow
        rules:
        - - - notDestinationPorts:
              - 9999
        name: deny-9999
        namespace: default
        scope: Namespace
        dryRun: false
      services:
      - name: local
        namespace: default
        hostname: example.com
        vips:
        - /127.198.18.1
        ports:
          80: 8080
        subjectAltNames:
        - spiffe://cluster.local/ns/default/sa/local
      - name: remote
        namespace: default
        hostname: example2.com
        vips:
        - remote/127.198.18.2
        ports:
          80: 8080
      """;

  static ByteString ip(String s) {
    return ByteString.copyFrom(IpLiterals.parse(s));
  }

  @Test
  void localhostExample_givesTwoWorkloadsTwoServicesAndOnePolicy() {
    LocalConfig c = LocalConfigParser.parse(LOCALHOST);

    assertThat(c.addresses()).containsOnlyKeys("cluster1//v1/Pod/default/local", "cluster1//v1/Pod/default/local-tcp",
        "default/example.com", "default/example2.com");
    Workload local = c.addresses().get("cluster1//v1/Pod/default/local").getWorkload();
    assertThat(local.getAddressesList()).containsExactly(ip("127.0.0.1"));
    assertThat(local.getTunnelProtocol()).isEqualTo(TunnelProtocol.HBONE);
    assertThat(local.getServicesMap()).containsOnlyKeys("default/example.com", "default/example2.com");
    assertThat(local.getServicesMap().get("default/example.com").getPortsList())
        .containsExactly(Port.newBuilder().setServicePort(80).setTargetPort(8080).build());
    assertThat(c.addresses().get("cluster1//v1/Pod/default/local-tcp").getWorkload().getTunnelProtocol())
        .isEqualTo(TunnelProtocol.NONE);
    Service remote = c.addresses().get("default/example2.com").getService();
    assertThat(remote.getAddressesList())
        .containsExactly(NetworkAddress.newBuilder().setNetwork("remote").setAddress(ip("127.198.18.2")).build());
    assertThat(c.addresses().get("default/example.com").getService().getSubjectAltNamesList())
        .containsExactly("spiffe://cluster.local/ns/default/sa/local");
    assertThat(c.policies()).containsOnlyKeys("default/deny-9999");
    assertThat(c.policies().get("default/deny-9999")).isEqualTo(Authorization.newBuilder()
        .setName("deny-9999").setNamespace("default").setScope(Scope.NAMESPACE).setAction(Action.ALLOW)
        .addRules(dev.ambient.xds.api.security.Rule.newBuilder().addClauses(dev.ambient.xds.api.security.Clause
            .newBuilder().addMatches(Match.newBuilder().addNotDestinationPorts(9999))))
        .build());
  }

  @Test
  void workload_everyField_isMapped() {
    LocalConfig c = LocalConfigParser.parse("""
        workloads:
        - uid: u1
          name: pod-a
          namespace: ns1
          serviceAccount: sa1
          trustDomain: td.example
          network: net1
          node: node-1
          hostname: a.example.com
          workloadIps: ["198.18.0.1", "2001:db8::1"]
          protocol: HBONE
          networkMode: HostNetwork
          waypoint: {destination: "ns1/waypoint.ns1.svc.cluster.local", hboneMtlsPort: 15008}
          networkGateway: {destination: "net2/198.18.200.1", hboneMtlsPort: 15009}
          applicationTunnel: {protocol: PROXY, port: 15088}
          workloadName: deploy-a
          workloadType: Deployment
          canonicalName: app-a
          canonicalRevision: v1
          clusterId: c1
          nativeTunnel: true
          authorizationPolicies: ["ns1/p1"]
          status: Unhealthy
          locality: {region: r, zone: z, subzone: s}
          capacity: 3
          services: {"ns1/svc.ns1.svc.cluster.local": {80: 8080, 443: 0}}
          labels: {app: a}
        """);

    Workload w = c.addresses().get("u1").getWorkload();
    assertThat(w.getName()).isEqualTo("pod-a");
    assertThat(w.getNamespace()).isEqualTo("ns1");
    assertThat(w.getServiceAccount()).isEqualTo("sa1");
    assertThat(w.getTrustDomain()).isEqualTo("td.example");
    assertThat(w.getNetwork()).isEqualTo("net1");
    assertThat(w.getNode()).isEqualTo("node-1");
    assertThat(w.getHostname()).isEqualTo("a.example.com");
    assertThat(w.getAddressesList()).containsExactly(ip("198.18.0.1"), ip("2001:db8::1"));
    assertThat(w.getAddresses(1).size()).isEqualTo(16);
    assertThat(w.getNetworkMode()).isEqualTo(NetworkMode.HOST_NETWORK);
    assertThat(w.getWaypoint()).isEqualTo(GatewayAddress.newBuilder().setHostname(NamespacedHostname.newBuilder()
        .setNamespace("ns1").setHostname("waypoint.ns1.svc.cluster.local")).setHboneMtlsPort(15008).build());
    assertThat(w.getNetworkGateway()).isEqualTo(GatewayAddress.newBuilder().setAddress(NetworkAddress.newBuilder()
        .setNetwork("net2").setAddress(ip("198.18.200.1"))).setHboneMtlsPort(15009).build());
    assertThat(w.getApplicationTunnel()).isEqualTo(ApplicationTunnel.newBuilder()
        .setProtocol(ApplicationTunnel.Protocol.PROXY).setPort(15088).build());
    assertThat(w.getWorkloadName()).isEqualTo("deploy-a");
    assertThat(w.getWorkloadType()).isEqualTo(WorkloadType.DEPLOYMENT);
    assertThat(w.getCanonicalName()).isEqualTo("app-a");
    assertThat(w.getCanonicalRevision()).isEqualTo("v1");
    assertThat(w.getClusterId()).isEqualTo("c1");
    assertThat(w.getNativeTunnel()).isTrue();
    assertThat(w.getAuthorizationPoliciesList()).containsExactly("ns1/p1");
    assertThat(w.getStatus()).isEqualTo(WorkloadStatus.UNHEALTHY);
    assertThat(w.getLocality().getSubzone()).isEqualTo("s");
    assertThat(w.getCapacity().getValue()).isEqualTo(3);
    assertThat(w.getServicesMap().get("ns1/svc.ns1.svc.cluster.local").getPortsList()).containsExactly(
        Port.newBuilder().setServicePort(80).setTargetPort(8080).build(),
        Port.newBuilder().setServicePort(443).setTargetPort(0).build());
    assertThat(c.workloadLabels()).isEqualTo(Map.of("u1", Map.of("app", "a")));
  }

  @Test
  void workload_withoutUid_isNamedLikeAnIstiodPod() {
    LocalConfig c = LocalConfigParser.parse("""
        workloads:
        - {name: p, namespace: ns}
        - {name: q, namespace: ns, clusterId: east}
        """);

    assertThat(c.addresses()).containsOnlyKeys("Kubernetes//Pod/ns/p", "east//Pod/ns/q");
    assertThat(c.addresses().get("Kubernetes//Pod/ns/p").getWorkload().getUid()).isEqualTo("Kubernetes//Pod/ns/p");
  }

  @Test
  void service_everyField_isMapped() {
    LocalConfig c = LocalConfigParser.parse("""
        services:
        - name: svc
          namespace: ns
          hostname: svc.ns.svc.cluster.local
          vips: ["/198.19.96.1", "net1/2001:db8::10"]
          cidrVips: [{network: net1, cidr: "198.19.0.0/16"}]
          ports: {80: 8080, 90: 0}
          subjectAltNames: ["spiffe://td/ns/ns/sa/x"]
          waypoint: {destination: "ns/wp.ns.svc.cluster.local", hboneMtlsPort: 15008}
          weightedWaypoints: [{destination: "/198.18.0.9", weight: 7}]
          loadBalancer: {routingPreferences: [Network, Region, Zone, Subzone, Node, Cluster], mode: Failover, healthPolicy: AllowAll}
          ipFamilies: Dual
          canonical: true
          visibility: Namespace
          endpoints: {anything: [1, 2]}
        """);

    Service s = c.addresses().get("ns/svc.ns.svc.cluster.local").getService();
    assertThat(s.getName()).isEqualTo("svc");
    assertThat(s.getAddressesList()).containsExactly(
        NetworkAddress.newBuilder().setAddress(ip("198.19.96.1")).build(),
        NetworkAddress.newBuilder().setNetwork("net1").setAddress(ip("2001:db8::10")).build(),
        NetworkAddress.newBuilder().setNetwork("net1").setAddress(ip("198.19.0.0")).setLength(16).build());
    assertThat(s.getPortsList()).containsExactly(
        Port.newBuilder().setServicePort(80).setTargetPort(8080).build(),
        Port.newBuilder().setServicePort(90).build());
    assertThat(s.getSubjectAltNamesList()).containsExactly("spiffe://td/ns/ns/sa/x");
    assertThat(s.getWaypoint().getHostname().getHostname()).isEqualTo("wp.ns.svc.cluster.local");
    assertThat(s.getWeightedWaypoints(0).getWeight()).isEqualTo(7);
    assertThat(s.getWeightedWaypoints(0).getDestination().getAddress().getAddress()).isEqualTo(ip("198.18.0.9"));
    assertThat(s.getLoadBalancing()).isEqualTo(LoadBalancing.newBuilder()
        .addRoutingPreference(LoadBalancing.Scope.NETWORK).addRoutingPreference(LoadBalancing.Scope.REGION)
        .addRoutingPreference(LoadBalancing.Scope.ZONE).addRoutingPreference(LoadBalancing.Scope.SUBZONE)
        .addRoutingPreference(LoadBalancing.Scope.NODE).addRoutingPreference(LoadBalancing.Scope.CLUSTER)
        .setMode(LoadBalancing.Mode.FAILOVER).setHealthPolicy(LoadBalancing.HealthPolicy.ALLOW_ALL).build());
    assertThat(s.getIpFamilies()).isEqualTo(IPFamilies.DUAL);
    assertThat(s.getCanonical()).isTrue();
    assertThat(s.getVisibility()).isEqualTo(Service.Visibility.NAMESPACE);
  }

  @Test
  void policy_everyMatchField_isMapped() {
    LocalConfig c = LocalConfigParser.parse("""
        policies:
        - name: p
          namespace: ns
          scope: WorkloadSelector
          action: Deny
          dryRun: true
          rules:
          - - - namespaces: [{Exact: a}]
                notNamespaces: [{Prefix: b}]
                principals: [{Suffix: c}]
                notPrincipals: [Presence]
                serviceAccounts: [{namespace: ns, serviceAccount: sa}]
                notServiceAccounts: [{namespace: ns2, serviceAccount: sa2}]
                sourceIps: ["198.18.0.0/15"]
                notSourceIps: ["198.19.0.1"]
                destinationIps: ["2001:db8::/64"]
                notDestinationIps: ["::1"]
                destinationPorts: [80]
                notDestinationPorts: [81]
              - {}
            - - destinationPorts: [443]
        """);

    Authorization a = c.policies().get("ns/p");
    assertThat(a.getScope()).isEqualTo(Scope.WORKLOAD_SELECTOR);
    assertThat(a.getAction()).isEqualTo(Action.DENY);
    assertThat(a.getDryRun()).isTrue();
    assertThat(a.getRules(0).getClausesCount()).isEqualTo(2);
    assertThat(a.getRules(0).getClauses(0).getMatchesCount()).isEqualTo(2);
    Match m = a.getRules(0).getClauses(0).getMatches(0);
    assertThat(m.getNamespacesList()).containsExactly(StringMatch.newBuilder().setExact("a").build());
    assertThat(m.getNotNamespacesList()).containsExactly(StringMatch.newBuilder().setPrefix("b").build());
    assertThat(m.getPrincipalsList()).containsExactly(StringMatch.newBuilder().setSuffix("c").build());
    assertThat(m.getNotPrincipalsList())
        .containsExactly(StringMatch.newBuilder().setPresence(Empty.getDefaultInstance()).build());
    assertThat(m.getServiceAccountsList())
        .containsExactly(ServiceAccountMatch.newBuilder().setNamespace("ns").setServiceAccount("sa").build());
    assertThat(m.getNotServiceAccountsList()).hasSize(1);
    assertThat(m.getSourceIps(0).getLength()).isEqualTo(15);
    assertThat(m.getNotSourceIps(0).getLength()).isEqualTo(32);
    assertThat(m.getDestinationIps(0).getLength()).isEqualTo(64);
    assertThat(m.getNotDestinationIps(0).getLength()).isEqualTo(128);
    assertThat(m.getDestinationPortsList()).containsExactly(80);
    assertThat(m.getNotDestinationPortsList()).containsExactly(81);
    assertThat(a.getRules(0).getClauses(1).getMatches(0).getDestinationPortsList()).containsExactly(443);
  }

  @Test
  void unknownField_isRejectedWithItsLine() {
    assertThatThrownBy(() -> LocalConfigParser.parse("""
        workloads:
        - uid: u
          name: n
          workloadIP: ["198.18.0.1"]
        """))
        .isInstanceOfSatisfying(ConfigException.class, e -> {
          assertThat(e.line()).isEqualTo(4);
          assertThat(e.reason()).contains("unknown field 'workloadIP'");
        });
  }

  @Test
  void badIp_isRejectedWithItsLineAndColumn() {
    assertThatThrownBy(() -> LocalConfigParser.parse("""
        workloads:
        - uid: u
          workloadIps:
          - 198.18.0.1
          - 198.18.0.256
        """))
        .isInstanceOfSatisfying(ConfigException.class, e -> {
          assertThat(e.line()).isEqualTo(5);
          assertThat(e.column()).isEqualTo(5);
          assertThat(e.reason()).contains("198.18.0.256");
        });
  }

  @Test
  void hostName_isNotAnIp() {
    assertThatThrownBy(() -> LocalConfigParser.parse("workloads: [{uid: u, workloadIps: [localhost]}]"))
        .isInstanceOfSatisfying(ConfigException.class, e -> assertThat(e.reason()).contains("localhost"));
  }

  @Test
  void badEnumValue_isRejected() {
    assertThatThrownBy(() -> LocalConfigParser.parse("workloads: [{uid: u, protocol: QUIC}]"))
        .isInstanceOfSatisfying(ConfigException.class, e -> assertThat(e.reason()).contains("QUIC"));
  }

  @Test
  void badStringMatch_isRejected() {
    assertThatThrownBy(() -> LocalConfigParser.parse(
        "policies: [{name: p, namespace: n, dryRun: false, rules: [[[{principals: [{Regex: x}]}]]]}]"))
        .isInstanceOfSatisfying(ConfigException.class, e -> assertThat(e.reason()).contains("{Exact: x}"));
  }

  @Test
  void policy_withoutDryRun_isRejected() {
    assertThatThrownBy(() -> LocalConfigParser.parse("policies: [{name: p, namespace: n}]"))
        .isInstanceOfSatisfying(ConfigException.class, e -> assertThat(e.reason()).contains("dryRun"));
  }

  @Test
  void nullListElement_isRejectedWithItsLine() {
    assertThatThrownBy(() -> LocalConfigParser.parse("workloads:\n- uid: u\n  workloadIps: [~]\n"))
        .isInstanceOfSatisfying(ConfigException.class, e -> assertThat(e.line()).isEqualTo(3));
  }

  @Test
  void portOutOfRange_isRejected() {
    assertThatThrownBy(() -> LocalConfigParser.parse("services: [{namespace: n, hostname: h, ports: {70000: 80}}]"))
        .isInstanceOfSatisfying(ConfigException.class, e -> assertThat(e.reason()).contains("70000"));
  }

  @Test
  void duplicateWorkload_isRejected() {
    assertThatThrownBy(() -> LocalConfigParser.parse("workloads: [{uid: u}, {uid: u}]"))
        .isInstanceOfSatisfying(ConfigException.class, e -> assertThat(e.reason()).contains("duplicate workload 'u'"));
  }

  @Test
  void multiDocument_linesCountFromTheFileStart() {
    assertThatThrownBy(() -> LocalConfigParser.parse("workloads: [{uid: a}]\n---\n\nworkloads: [{uid: b, bogus: 1}]\n"))
        .isInstanceOfSatisfying(ConfigException.class, e -> assertThat(e.line()).isEqualTo(4));
  }
}
