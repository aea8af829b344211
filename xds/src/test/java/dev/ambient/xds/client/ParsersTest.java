package dev.ambient.xds.client;

import static dev.ambient.xds.client.Fixtures.address;
import static dev.ambient.xds.client.Fixtures.ip;
import static dev.ambient.xds.client.Fixtures.policy;
import static dev.ambient.xds.client.Fixtures.service;
import static dev.ambient.xds.client.Fixtures.workload;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.UInt32Value;
import dev.ambient.identity.SpiffeId;
import dev.ambient.xds.api.security.StringMatch;
import dev.ambient.xds.api.workload.Address;
import dev.ambient.xds.api.workload.GatewayAddress;
import dev.ambient.xds.api.workload.LoadBalancing;
import dev.ambient.xds.api.workload.NetworkAddress;
import dev.ambient.xds.api.workload.PortList;
import dev.ambient.xds.api.workload.WeightedWaypoint;
import java.net.InetAddress;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class ParsersTest {

  static Stream<Arguments> rejectedAddresses() {
    return Stream.of(
        Arguments.of("workload IP of 5 bytes", address(workload("w").addAddresses(ip(1, 2, 3, 4, 5))), "invalid IP address length 5"),
        Arguments.of("workload IP of 0 bytes", address(workload("w").addAddresses(ip())), "invalid IP address length 0"),
        Arguments.of("LEGACY_ISTIO_MTLS", address(workload("w").setTunnelProtocolValue(2)), "LEGACY_ISTIO_MTLS"),
        Arguments.of("unknown tunnel protocol", address(workload("w").setTunnelProtocolValue(9)), "unknown tunnel protocol 9"),
        Arguments.of("waypoint without destination", address(workload("w").setWaypoint(GatewayAddress.newBuilder().setHboneMtlsPort(15008))),
            "nonempty gateway address is missing address"),
        Arguments.of("network gateway without destination", address(workload("w").setNetworkGateway(GatewayAddress.getDefaultInstance())),
            "missing address"),
        Arguments.of("waypoint with a bad IP", address(workload("w").setWaypoint(GatewayAddress.newBuilder()
            .setAddress(NetworkAddress.newBuilder().setAddress(ip(1, 2, 3))))), "invalid IP address length 3"),
        Arguments.of("service key without /", address(workload("w").putServices("svc.ns.svc.cluster.local", PortList.getDefaultInstance())),
            "not namespace/hostname"),
        Arguments.of("unknown workload status", address(workload("w").setStatusValue(5)), "unknown workload status 5"),
        Arguments.of("unknown workload type", address(workload("w").setWorkloadTypeValue(7)), "unknown workload type 7"),
        Arguments.of("unknown network mode", address(workload("w").setNetworkModeValue(3)), "unknown network mode 3"),
        Arguments.of("unknown application tunnel protocol", address(workload("w").setApplicationTunnel(
            dev.ambient.xds.api.workload.ApplicationTunnel.newBuilder().setProtocolValue(4))), "unknown application tunnel protocol 4"),
        Arguments.of("service VIP of 3 bytes", address(service("s").addAddresses(NetworkAddress.newBuilder().setAddress(ip(1, 2, 3)))),
            "invalid IP address length 3"),
        Arguments.of("VIP prefix longer than the address", address(service("s").addAddresses(NetworkAddress.newBuilder()
            .setAddress(ip(198, 18, 0, 0)).setLength(33))), "invalid prefix length 33"),
        Arguments.of("UNSPECIFIED routing preference", address(service("s").setLoadBalancing(LoadBalancing.newBuilder()
            .addRoutingPreferenceValue(1).addRoutingPreferenceValue(0))), "UNSPECIFIED_SCOPE"),
        Arguments.of("unknown routing preference", address(service("s").setLoadBalancing(LoadBalancing.newBuilder()
            .addRoutingPreferenceValue(42))), "unknown routing preference 42"),
        Arguments.of("unknown LB mode", address(service("s").setLoadBalancing(LoadBalancing.newBuilder().setModeValue(8))),
            "unknown load balancing mode 8"),
        Arguments.of("unknown health policy", address(service("s").setLoadBalancing(LoadBalancing.newBuilder().setHealthPolicyValue(8))),
            "unknown health policy 8"),
        Arguments.of("unknown IP families", address(service("s").setIpFamiliesValue(4)), "unknown ip families 4"),
        Arguments.of("weighted waypoint without destination", address(service("s").addWeightedWaypoints(
            WeightedWaypoint.newBuilder().setWeight(5))), "weighted waypoint is missing its destination"),
        Arguments.of("weighted waypoint with empty gateway", address(service("s").addWeightedWaypoints(
            WeightedWaypoint.newBuilder().setDestination(GatewayAddress.getDefaultInstance()))), "missing address"),
        Arguments.of("service waypoint without destination", address(service("s").setWaypoint(GatewayAddress.getDefaultInstance())),
            "missing address"),
        Arguments.of("address with neither variant", Address.getDefaultInstance(), "neither workload nor service"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("rejectedAddresses")
  void address_invalid_rejectedWithReason(String scenario, Address proto, String reason) {
    assertThatThrownBy(() -> AddressParser.parse(proto))
        .isInstanceOf(ResourceInvalidException.class)
        .hasMessageContaining(reason);
  }

  @Test
  void resourceInvalidException_isStackless() {
    assertThat(new ResourceInvalidException("x").getStackTrace()).isEmpty();
  }

  @Test
  void workload_defaults() throws Exception {
    Workload w = WorkloadParser.parse(dev.ambient.xds.api.workload.Workload.newBuilder().setUid("u").setNamespace("ns").build());
    assertThat(w.trustDomain()).isEqualTo("cluster.local");
    assertThat(w.serviceAccount()).isEqualTo("default");
    assertThat(w.clusterId()).isEqualTo("Kubernetes");
    assertThat(w.capacity()).isEqualTo(1);
    assertThat(w.tunnelProtocol()).isEqualTo(Workload.TunnelProtocol.NONE);
    assertThat(w.status()).isEqualTo(Workload.Status.HEALTHY);
    assertThat(w.waypoint()).isEmpty();
    assertThat(w.locality()).isEmpty();
    assertThat(w.identity()).isEqualTo(SpiffeId.of("cluster.local", "ns", "default"));
  }

  @Test
  void workload_explicitValues_kept() throws Exception {
    Workload w = WorkloadParser.parse(workload("p").setTrustDomain("td").setServiceAccount("sa").setClusterId("c2")
        .setCapacity(UInt32Value.of(0)).addAddresses(ip(0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1)).build());
    assertThat(w.trustDomain()).isEqualTo("td");
    assertThat(w.serviceAccount()).isEqualTo("sa");
    assertThat(w.clusterId()).isEqualTo("c2");
    assertThat(w.capacity()).isZero();
    assertThat(w.addresses()).containsExactly(InetAddress.getByName("198.18.0.5"), InetAddress.getByName("2001:db8::1"));
    assertThat(w.services().get("ns/svc.ns.svc.cluster.local")).containsExactly(new Port(80, 8080));
  }

  @Test
  void service_vipsPortsWaypointAndSans() throws Exception {
    Service s = ServiceParser.parse(service("s")
        .addAddresses(NetworkAddress.newBuilder().setNetwork("n1").setAddress(ip(198, 19, 0, 0)).setLength(16))
        .addAddresses(NetworkAddress.newBuilder().setAddress(ip(198, 19, 96, 2)).setLength(32))
        .addPorts(dev.ambient.xds.api.workload.Port.newBuilder().setServicePort(70000).setTargetPort(1))
        .addSubjectAltNames("spiffe://cluster.local/ns/ns/sa/s")
        .addSubjectAltNames("not a spiffe id")
        .setVisibilityValue(9)
        .build());
    assertThat(s.key()).isEqualTo("ns/s.ns.svc.cluster.local");
    assertThat(s.addresses()).extracting(dev.ambient.xds.client.NetworkAddress::isCidr).containsExactly(false, true, false);
    assertThat(s.addresses().get(1).key()).isEqualTo("n1/198.19.0.0");
    assertThat(s.addresses().get(1).prefixLength()).isEqualTo(16);
    assertThat(s.ports()).containsExactly(new Port(80, 8080), new Port(70000 & 0xFFFF, 1));
    assertThat(s.subjectAltNames()).containsExactly(SpiffeId.of("cluster.local", "ns", "s"));
    assertThat(s.visibility()).isEqualTo(Service.Visibility.PUBLIC); // unknown fails open
    assertThat(s.waypoint()).get().isEqualTo(new dev.ambient.xds.client.GatewayAddress(
        new NamespacedHostname("ns", "wp.ns.svc.cluster.local"), 15008));
  }

  @Test
  void authorization_parsed_invalidEntriesDropped() throws Exception {
    Authorization a = AuthorizationParser.parse(policy("p").setRules(0, dev.ambient.xds.api.security.Rule.newBuilder()
        .addClauses(dev.ambient.xds.api.security.Clause.newBuilder().addMatches(dev.ambient.xds.api.security.Match.newBuilder()
            .addNamespaces(StringMatch.newBuilder().setExact("ns"))
            .addNamespaces(StringMatch.getDefaultInstance())
            .addPrincipals(StringMatch.newBuilder().setPrefix("spiffe://"))
            .addPrincipals(StringMatch.newBuilder().setSuffix("/sa/x"))
            .addSourceIps(dev.ambient.xds.api.security.Address.newBuilder().setAddress(ip(1, 2, 3)).setLength(24))
            .addSourceIps(dev.ambient.xds.api.security.Address.newBuilder().setAddress(ip(198, 18, 0, 0)).setLength(40))
            .addSourceIps(dev.ambient.xds.api.security.Address.newBuilder().setAddress(ip(198, 18, 0, 0)).setLength(15))
            .addServiceAccounts(dev.ambient.xds.api.security.ServiceAccountMatch.newBuilder().setNamespace("ns").setServiceAccount("sa"))
            .addDestinationPorts(65536 + 443)))).build());
    assertThat(a.key()).isEqualTo("ns/p");
    assertThat(a.scope()).isEqualTo(Authorization.Scope.NAMESPACE);
    Authorization.Match m = a.rules().get(0).clauses().get(0).matches().get(0);
    assertThat(m.namespaces()).containsExactly(new Authorization.StringMatch.Exact("ns"));
    assertThat(m.principals()).containsExactly(
        new Authorization.StringMatch.Prefix("spiffe://"), new Authorization.StringMatch.Suffix("/sa/x"));
    assertThat(m.sourceIps()).containsExactly(new Authorization.IpNet(InetAddress.getByName("198.18.0.0"), 15));
    assertThat(m.serviceAccounts()).containsExactly(new Authorization.ServiceAccountMatch("ns", "sa"));
    assertThat(m.destinationPorts()).containsExactly(443);
  }

  @Test
  void authorization_presenceAndDefaults() throws Exception {
    Authorization a = AuthorizationParser.parse(dev.ambient.xds.api.security.Authorization.newBuilder()
        .setName("n").setNamespace("ns").addRules(dev.ambient.xds.api.security.Rule.newBuilder().addClauses(
            dev.ambient.xds.api.security.Clause.newBuilder().addMatches(dev.ambient.xds.api.security.Match.newBuilder()
                .addNotPrincipals(StringMatch.newBuilder().setPresence(com.google.protobuf.Empty.getDefaultInstance())))))
        .build());
    assertThat(a.scope()).isEqualTo(Authorization.Scope.GLOBAL);
    assertThat(a.action()).isEqualTo(Authorization.Action.ALLOW);
    assertThat(a.rules().get(0).clauses().get(0).matches().get(0).notPrincipals())
        .containsExactly(new Authorization.StringMatch.Presence());
  }

  @Test
  void authorization_unknownScope_rejected() {
    assertThatThrownBy(() -> AuthorizationParser.parse(policy("p").setScopeValue(3).build()))
        .isInstanceOf(ResourceInvalidException.class).hasMessage("unknown scope 3");
  }

  @Test
  void authorization_unknownAction_rejected() {
    assertThatThrownBy(() -> AuthorizationParser.parse(policy("p").setActionValue(2).build()))
        .isInstanceOf(ResourceInvalidException.class).hasMessage("unknown action 2");
  }

  @Test
  void ipv4MappedAddresses_areCanonicalisedWithTheirPrefix() throws Exception {
    byte[] mapped = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, (byte) 0xff, (byte) 0xff, (byte) 198, 18, 0, 0};
    dev.ambient.xds.client.NetworkAddress vip = CommonParsers.networkAddress(dev.ambient.xds.api.workload.NetworkAddress.newBuilder()
        .setAddress(com.google.protobuf.ByteString.copyFrom(mapped)).setLength(112).build());
    assertThat(vip.address()).isEqualTo(InetAddress.getByName("198.18.0.0"));
    assertThat(vip.prefixLength()).isEqualTo(16);
    Authorization a = AuthorizationParser.parse(dev.ambient.xds.api.security.Authorization.newBuilder()
        .setName("p").setNamespace("ns").addRules(dev.ambient.xds.api.security.Rule.newBuilder()
            .addClauses(dev.ambient.xds.api.security.Clause.newBuilder().addMatches(
                dev.ambient.xds.api.security.Match.newBuilder().addSourceIps(dev.ambient.xds.api.security.Address
                    .newBuilder().setAddress(com.google.protobuf.ByteString.copyFrom(mapped)).setLength(128)))))
        .build());
    assertThat(a.rules().getFirst().clauses().getFirst().matches().getFirst().sourceIps())
        .containsExactly(new Authorization.IpNet(InetAddress.getByName("198.18.0.0"), 32));
  }
}
