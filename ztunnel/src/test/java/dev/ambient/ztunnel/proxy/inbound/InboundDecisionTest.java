package dev.ambient.ztunnel.proxy.inbound;

import static dev.ambient.ztunnel.state.Fixtures.gwAddr;
import static dev.ambient.ztunnel.state.Fixtures.gwHost;
import static dev.ambient.ztunnel.state.Fixtures.ip;
import static dev.ambient.ztunnel.state.Fixtures.push;
import static dev.ambient.ztunnel.state.Fixtures.service;
import static dev.ambient.ztunnel.state.Fixtures.workload;
import static org.assertj.core.api.Assertions.assertThat;

import dev.ambient.hbone.Authority;
import dev.ambient.hbone.HboneRequest;
import dev.ambient.identity.SpiffeId;
import dev.ambient.xds.client.AddressResource;
import dev.ambient.xds.client.Port;
import dev.ambient.xds.client.Workload;
import dev.ambient.ztunnel.authz.Authorizer;
import dev.ambient.ztunnel.authz.Connection;
import dev.ambient.ztunnel.authz.PolicyIndex;
import dev.ambient.ztunnel.proxy.inbound.InboundDecision.Accepted;
import dev.ambient.ztunnel.proxy.inbound.InboundDecision.Denied;
import dev.ambient.ztunnel.proxy.inbound.InboundDecision.Outcome;
import dev.ambient.ztunnel.proxy.inbound.InboundDecision.Reason;
import dev.ambient.ztunnel.proxy.inbound.InboundDecision.Rejected;
import dev.ambient.ztunnel.state.ProxyState;
import dev.ambient.ztunnel.state.StateHolder;
import dev.ambient.ztunnel.state.StateUpdater;
import java.net.InetSocketAddress;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Table of inbound decisions: {@code validate_destination}, {@code find_inbound_upstream}, RBAC (spec §10.1). */
class InboundDecisionTest {
  private static final String POD_IP = "198.18.0.2";
  private static final String PEER_IP = "198.18.0.10";
  private static final int PEER_PORT = 40000;
  private static final String SVC_KEY = "default/svc.default.svc.cluster.local";
  private static final String SVC_HOST = "svc.default.svc.cluster.local";
  private static final String WP_KEY = "default/waypoint.default.svc.cluster.local";
  private static final SpiffeId PEER = SpiffeId.of("cluster.local", "client-ns", "client-sa");

  private final Authorizer authorizer = Authorizer.create();
  private PolicyIndex policies = PolicyIndex.EMPTY;

  private static ProxyState state(AddressResource... resources) {
    return new StateUpdater(new StateHolder()).apply(push(resources));
  }

  private static Workload server() {
    return workload("server").ip(POD_IP).in(SVC_KEY, new Port(80, 8080)).build();
  }

  private static Workload client() {
    return workload("client").namespace("client-ns").sa("client-sa").ip(PEER_IP).build();
  }

  private static HboneRequest request(String authority, Map<String, String> headers) {
    return request(authority, PEER_IP, headers);
  }

  private static HboneRequest request(String authority, String peerIp, Map<String, String> headers) {
    Map<String, List<String>> h = new LinkedHashMap<>();
    headers.forEach((k, v) -> h.put(k, List.of(v)));
    return new HboneRequest(PEER, Authority.parse(authority).orElseThrow(), h,
        new InetSocketAddress(ip(peerIp), PEER_PORT), new InetSocketAddress(ip(POD_IP), 15008));
  }

  private Outcome decide(ProxyState s, Workload local, HboneRequest r) {
    return InboundDecision.decide(r, new InboundDecision.Local(s, local, "", true), authorizer, policies);
  }

  private Outcome decide(ProxyState s, Workload local, String authority) {
    return decide(s, local, request(authority, Map.of()));
  }

  private static Accepted accepted(Outcome o) {
    assertThat(o).isInstanceOf(Accepted.class);
    assertThat(o.status()).isEqualTo(200);
    return (Accepted) o;
  }

  private static Rejected rejected(Outcome o, Reason reason, int status) {
    assertThat(o).isInstanceOf(Rejected.class);
    Rejected r = (Rejected) o;
    assertThat(r.reason()).isEqualTo(reason);
    assertThat(r.status()).isEqualTo(status);
    return r;
  }

  // --- validate_destination ---

  @Test
  void ipAuthorityEqualToArrivalIp_acceptedToPodIpWithRequestedPort() {
    Workload local = server();
    Accepted a = accepted(decide(state(local, client(), service("svc").vip("198.19.0.1").port(80, 8080).build()),
        local, POD_IP + ":8080"));
    assertThat(a.upstream()).isEqualTo(new InetSocketAddress(ip(POD_IP), 8080));
    assertThat(a.spoofSource()).contains(ip(PEER_IP));
    assertThat(a.proxyHeader()).isEmpty();
    Connection c = a.authorized().connection();
    assertThat(c).isEqualTo(new Connection(ip(PEER_IP), PEER_PORT, ip(POD_IP), 8080, Optional.of(PEER), ""));
  }

  @Test
  void ipAuthorityOfAnotherIp_is400IpMismatch() {
    Workload local = server();
    rejected(decide(state(local), local, "198.18.0.3:8080"), Reason.IP_MISMATCH, 400);
  }

  @Test
  void ipMismatch_allowedWhenLocalWorkloadHasAppTunnel() {
    Workload local = workload("server").ip(POD_IP).appTunnel(0).build();
    Accepted a = accepted(decide(state(local), local, "198.19.0.1:80"));
    assertThat(a.upstream()).as("LOCALHOST_APP_TUNNEL: loopback").isEqualTo(new InetSocketAddress(ip("127.0.0.1"), 80));
    assertThat(a.spoofSource()).as("no spoofing towards loopback").isEmpty();
    assertThat(a.proxyHeader()).contains(new InboundDecision.ProxyHeader(
        new InetSocketAddress(ip(PEER_IP), PEER_PORT), new InetSocketAddress(ip("198.19.0.1"), 80), Optional.of(PEER)));
  }

  @Test
  void appTunnelPort_overridesRequestedPort_andIsTheRbacPort() {
    Workload local = workload("server").ip(POD_IP).appTunnel(15019).build();
    InboundDecision.Local here = new InboundDecision.Local(state(local), local, "", false);
    Accepted a = accepted(InboundDecision.decide(request(POD_IP + ":80", Map.of()), here, authorizer, policies));
    assertThat(a.upstream()).as("LOCALHOST_APP_TUNNEL=false: pod IP").isEqualTo(new InetSocketAddress(ip(POD_IP), 15019));
    assertThat(a.authorized().connection().dstPort()).isEqualTo(15019);
    assertThat(a.spoofSource()).contains(ip(PEER_IP));
  }

  @Test
  void sandwich_serviceWaypointWhoseEndpointIsLocal_accepted() {
    Workload local = workload("waypoint").sa("waypoint").ip(POD_IP).in(WP_KEY, new Port(15008, 15008)).build();
    ProxyState s = state(local,
        service("waypoint").vip("198.19.0.50").port(15008, 15008).build(),
        service("svc").vip("198.19.0.1").port(80, 8080).waypoint(gwHost("default", "waypoint.default.svc.cluster.local", 15008)).build());
    Accepted a = accepted(decide(s, local, "198.19.0.1:80"));
    assertThat(a.upstream()).isEqualTo(new InetSocketAddress(ip(POD_IP), 80));
  }

  @Test
  void sandwich_workloadWaypointAddressIsArrivalIp_accepted() {
    Workload local = workload("waypoint").sa("waypoint").ip(POD_IP).build();
    Workload target = workload("app").ip("198.18.0.3").waypoint(gwAddr("", POD_IP, 15008)).build();
    accepted(decide(state(local, target), local, "198.18.0.3:8080"));
  }

  @Test
  void sandwich_waypointIsSomeoneElse_is400() {
    Workload local = workload("waypoint").sa("waypoint").ip(POD_IP).build();
    Workload other = workload("other-wp").ip("198.18.0.60").build();
    Workload target = workload("app").ip("198.18.0.3").waypoint(gwAddr("", "198.18.0.60", 15008)).build();
    ProxyState s = state(local, other, target,
        service("svc").vip("198.19.0.1").port(80, 8080).waypoint(gwAddr("", "198.18.0.60", 15008)).build());
    rejected(decide(s, local, "198.18.0.3:8080"), Reason.IP_MISMATCH, 400);
    rejected(decide(s, local, "198.19.0.1:80"), Reason.IP_MISMATCH, 400);
  }

  @Test
  void ipAuthorityWithoutWaypoint_is400() {
    Workload local = server();
    ProxyState s = state(local, service("svc").vip("198.19.0.1").port(80, 8080).build());
    rejected(decide(s, local, "198.19.0.1:80"), Reason.IP_MISMATCH, 400);
  }

  // --- find_inbound_upstream ---

  @Test
  void hostnameAuthority_targetPortFromServicePort() {
    Workload local = workload("server").ip(POD_IP).in(SVC_KEY).build();
    ProxyState s = state(local, service("svc").vip("198.19.0.1").port(80, 8080).build());
    Accepted a = accepted(decide(s, local, SVC_HOST + ":80"));
    assertThat(a.upstream()).isEqualTo(new InetSocketAddress(ip(POD_IP), 8080));
    assertThat(a.destinationService()).map(sv -> sv.hostname()).contains(SVC_HOST);
  }

  @Test
  void hostnameAuthority_namedPortResolvedThroughEndpointPortMap() {
    Workload local = workload("server").ip(POD_IP).in(SVC_KEY, new Port(80, 9090)).build();
    ProxyState s = state(local, service("svc").vip("198.19.0.1").port(80, 0).build());
    assertThat(accepted(decide(s, local, SVC_HOST + ":80")).upstream().getPort()).isEqualTo(9090);
  }

  @Test
  void hostnameAuthority_prefersServiceInLocalNamespace() {
    Workload local = workload("server").namespace("b").ip(POD_IP).in("b/svc.default.svc.cluster.local").build();
    ProxyState s = state(local,
        service("svc").hostname(SVC_HOST).vip("198.19.0.1").port(80, 7070).build(),
        service("svc").namespace("b").hostname(SVC_HOST).vip("198.19.0.2").port(80, 8080).build());
    Accepted a = accepted(decide(s, local, SVC_HOST + ":80"));
    assertThat(a.upstream().getPort()).isEqualTo(8080);
    assertThat(a.destinationService().orElseThrow().namespace()).isEqualTo("b");
  }

  @Test
  void hostnameAuthority_unknownHostname_is503() {
    Workload local = server();
    rejected(decide(state(local), local, "nope.default.svc.cluster.local:80"), Reason.UNKNOWN_HOSTNAME, 503);
  }

  @Test
  void hostnameAuthority_portWithoutTarget_is503() {
    Workload local = workload("server").ip(POD_IP).in(SVC_KEY).build();
    ProxyState s = state(local, service("svc").vip("198.19.0.1").port(80, 0).build());
    rejected(decide(s, local, SVC_HOST + ":80"), Reason.NO_TARGET_PORT, 503);
    rejected(decide(s, local, SVC_HOST + ":81"), Reason.NO_TARGET_PORT, 503);
  }

  @Test
  void hostnameAuthority_withProxyAppTunnel_headerDestinationIsServiceVip() {
    Workload local = workload("server").ip(POD_IP).appTunnel(0).in(SVC_KEY).build();
    ProxyState s = state(local, service("svc").vip("2001:db8::1").vip("198.19.0.1").port(80, 8080).build());
    Accepted a = accepted(decide(s, local, SVC_HOST + ":80"));
    assertThat(a.proxyHeader().orElseThrow().destination()).as("IPv4 VIP preferred, authority port")
        .isEqualTo(new InetSocketAddress(ip("198.19.0.1"), 80));
  }

  @ParameterizedTest
  @ValueSource(ints = {15001, 15006, 15008})
  void illegalUpstreamPort_is503SelfCall(int port) {
    Workload local = server();
    rejected(decide(state(local), local, POD_IP + ":" + port), Reason.SELF_CALL, 503);
  }

  @Test
  void appTunnelPortOnProxyPort_is503SelfCall() {
    Workload local = workload("server").ip(POD_IP).appTunnel(15008).build();
    rejected(decide(state(local), local, POD_IP + ":80"), Reason.SELF_CALL, 503);
  }

  // --- RBAC ---

  @Test
  void denyPolicy_is401WithTheRbacTuple() {
    Workload local = server();
    policies = Policies.index(Policies.denyAll("default"));
    Outcome o = decide(state(local), local, POD_IP + ":8080");
    assertThat(o).isInstanceOf(Denied.class);
    assertThat(o.status()).isEqualTo(401);
    assertThat(((Denied) o).connection().dstPort()).isEqualTo(8080);
    assertThat(((Denied) o).deny().message()).isEqualTo("explicitly denied by: default/deny-all");
  }

  @Test
  void allowPrincipal_allowsThatPeerAndDeniesOthers() {
    Workload local = server();
    policies = Policies.index(Policies.allowPrincipal("default", "cluster.local/ns/client-ns/sa/client-sa"));
    accepted(decide(state(local), local, POD_IP + ":8080"));
    policies = Policies.index(Policies.allowPrincipal("default", "cluster.local/ns/other/sa/other"));
    assertThat(decide(state(local), local, POD_IP + ":8080")).isInstanceOf(Denied.class);
  }

  @Test
  void rbacPort_isTheResolvedTargetPortNotTheServicePort() {
    Workload local = workload("server").ip(POD_IP).in(SVC_KEY).build();
    ProxyState s = state(local, service("svc").vip("198.19.0.1").port(80, 8080).build());
    policies = Policies.index(Policies.allowPort("default", 8080));
    accepted(decide(s, local, SVC_HOST + ":80"));
    policies = Policies.index(Policies.allowPort("default", 80));
    assertThat(decide(s, local, SVC_HOST + ":80")).isInstanceOf(Denied.class);
  }

  @Test
  void denied_carriesTheSourceWorkloadForTelemetry() {
    Workload local = server();
    policies = Policies.index(Policies.denyAll("default"));
    Outcome o = decide(state(local, client()), local, POD_IP + ":8080");
    assertThat(((Denied) o).sourceWorkload()).map(Workload::name).contains("client");
    assertThat(((Denied) decide(state(local), local, POD_IP + ":8080")).sourceWorkload()).as("unknown peer").isEmpty();
  }

  @Test
  void denied_throughAGateway_carriesTheRequestBaggage_andNoSourceWorkload() {
    Workload local = server();
    policies = Policies.index(Policies.denyAll("default"));
    Outcome o = decide(state(local, client()), local, request(POD_IP + ":8080",
        Map.of("x-forwarded-network", "remote", "baggage", "k8s.deployment.name=client,service.name=client-app")));
    assertThat(((Denied) o).sourceWorkload()).isEmpty();
    assertThat(((Denied) o).sourceBaggage()).containsExactlyInAnyOrderEntriesOf(
        Map.of("k8s.deployment.name", "client", "service.name", "client-app"));
    assertThat(((Denied) decide(state(local), local, POD_IP + ":8080")).sourceBaggage()).as("no header").isEmpty();
  }

  // --- telemetry facts ---

  @Test
  void sourceWorkload_lookedUpByPeerIp_unlessViaGatewayOfAnotherNetwork() {
    Workload local = server();
    ProxyState s = state(local, client());
    assertThat(accepted(decide(s, local, POD_IP + ":8080")).sourceWorkload()).map(Workload::name).contains("client");
    assertThat(accepted(decide(s, local, request(POD_IP + ":8080", Map.of("x-forwarded-network", "remote"))))
        .sourceWorkload()).isEmpty();
    assertThat(accepted(decide(s, local, request(POD_IP + ":8080", Map.of("x-forwarded-network", ""))))
        .sourceWorkload()).as("same network (case-insensitive)").isPresent();
  }

  @Test
  void baggage_isParsedForSourceLabels() {
    Workload local = server();
    Accepted a = accepted(decide(state(local), local, request(POD_IP + ":8080",
        Map.of("baggage", "k8s.namespace.name=client-ns,service.name=client, bad ,service.version=v2"))));
    assertThat(a.sourceBaggage()).containsExactlyInAnyOrderEntriesOf(
        Map.of("k8s.namespace.name", "client-ns", "service.name", "client", "service.version", "v2"));
  }

  @Test
  void destinationService_forwardedHostWhenLocal_elseFirstWithMatchingTargetPort() {
    Workload local = workload("server").ip(POD_IP)
        .in("default/a.default.svc.cluster.local", new Port(80, 8080))
        .in("default/b.default.svc.cluster.local", new Port(81, 8080)).build();
    ProxyState s = state(local,
        service("a").vip("198.19.0.1").port(80, 0).build(),
        service("b").vip("198.19.0.2").port(81, 8080).build(),
        service("c").vip("198.19.0.3").port(82, 8080).build());
    assertThat(accepted(decide(s, local, request(POD_IP + ":8080",
        Map.of("forwarded", "for=\"198.18.0.10:40000\";host=b.default.svc.cluster.local"))))
        .destinationService().orElseThrow().name()).isEqualTo("b");
    assertThat(accepted(decide(s, local, request(POD_IP + ":8080",
        Map.of("forwarded", "for=\"198.18.0.10:40000\";host=c.default.svc.cluster.local"))))
        .destinationService().orElseThrow().name()).as("c is not a service of the local workload").isEqualTo("a");
    assertThat(accepted(decide(s, local, POD_IP + ":9999")).destinationService()).isEmpty();
  }

  @Test
  void peerIpEqualToDestination_noSpoofing() {
    Workload local = server();
    Accepted a = accepted(decide(state(local), local, request(POD_IP + ":8080", POD_IP, Map.of())));
    assertThat(a.spoofSource()).isEmpty();
  }
}
