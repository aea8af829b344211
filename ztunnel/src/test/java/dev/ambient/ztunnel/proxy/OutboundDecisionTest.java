package dev.ambient.ztunnel.proxy;

import static dev.ambient.ztunnel.state.Fixtures.gwAddr;
import static dev.ambient.ztunnel.state.Fixtures.gwHost;
import static dev.ambient.ztunnel.state.Fixtures.ip;
import static dev.ambient.ztunnel.state.Fixtures.push;
import static dev.ambient.ztunnel.state.Fixtures.service;
import static dev.ambient.ztunnel.state.Fixtures.workload;
import static org.assertj.core.api.Assertions.assertThat;

import dev.ambient.identity.SpiffeId;
import dev.ambient.xds.client.AddressResource;
import dev.ambient.xds.client.LoadBalancing.Mode;
import dev.ambient.xds.client.LoadBalancing.Scope;
import dev.ambient.xds.client.Port;
import dev.ambient.xds.client.Service;
import dev.ambient.xds.client.Workload;
import dev.ambient.ztunnel.state.Fixtures;
import dev.ambient.ztunnel.state.ProxyState;
import dev.ambient.ztunnel.state.StateHolder;
import dev.ambient.ztunnel.state.StateUpdater;
import java.net.InetSocketAddress;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Table of {@code build_request} scenarios (spec §5.1, §10.1). */
class OutboundDecisionTest {
  private static final String SVC = "default/svc.default.svc.cluster.local";
  private static final String WP_SVC = "default/waypoint.default.svc.cluster.local";
  private static final String CLIENT_IP = "198.18.0.10";
  private static final SpiffeId SA_DEFAULT = SpiffeId.of("cluster.local", "default", "default");
  private static final SpiffeId SA_WAYPOINT = SpiffeId.of("cluster.local", "default", "waypoint");

  private final Workload source = workload("client").ip(CLIENT_IP).node("node-a").build();
  private final SplittableRandom random = new SplittableRandom(11);

  private static ProxyState state(AddressResource... resources) {
    return new StateUpdater(new StateHolder()).apply(push(resources));
  }

  private Route build(ProxyState s, String dstIp, int port) {
    return build(s, source, CLIENT_IP, dstIp, port);
  }

  private Route build(ProxyState s, Workload from, String clientIp, String dstIp, int port) {
    return OutboundDecision.build(s, from, ip(clientIp), new InetSocketAddress(ip(dstIp), port), random);
  }

  private static InetSocketAddress sock(String address, int port) {
    return new InetSocketAddress(ip(address), port);
  }

  private static Workload waypointPod() {
    return workload("waypoint").sa("waypoint").ip("198.18.0.50").in(WP_SVC, new Port(15008, 15008)).build();
  }

  private static Service waypointService() {
    return service("waypoint").vip("198.19.0.50").port(15008, 15008).build();
  }

  private static Fixtures.SB svc() {
    return service("svc").vip("198.19.0.1").port(80, 8080);
  }

  // --- unknown / passthrough ---

  @Test
  void buildRequest_unknownDestination_passthrough() {
    assertThat(build(state(source), "198.18.1.1", 80)).isEqualTo(new Route.Passthrough(sock("198.18.1.1", 80)));
  }

  @Test
  void buildRequest_workloadOnOtherNetwork_passthrough() {
    ProxyState s = state(source, workload("remote").network("net2").ip("198.18.1.1").build());
    assertThat(build(s, "198.18.1.1", 80)).isInstanceOf(Route.Passthrough.class);
  }

  @Test
  void buildRequest_hostNetworkDestination_notIndexedSoPassthrough() {
    ProxyState s = state(source, workload("host").hostNetwork().ip("198.18.1.1").build());
    assertThat(build(s, "198.18.1.1", 80)).isEqualTo(new Route.Passthrough(sock("198.18.1.1", 80)));
  }

  @Test
  void buildRequest_hostNetworkEndpointOfService_directToItsIp() {
    ProxyState s = state(source, svc().build(), workload("host").hostNetwork().tcp().ip("198.18.1.1").in(SVC).build());
    Route r = build(s, "198.19.0.1", 80);
    assertThat(r).isInstanceOfSatisfying(Route.Direct.class,
        d -> assertThat(d.destination()).isEqualTo(sock("198.18.1.1", 8080)));
  }

  @ParameterizedTest(name = "loopback port {0}")
  @ValueSource(ints = {15001, 15006, 15008})
  void buildRequest_loopbackSelfCallPort_rejected(int port) {
    Route r = OutboundDecision.build(state(source), source, ip(CLIENT_IP),
        new InetSocketAddress(ip("127.0.0.1"), port), random);
    assertThat(r).isInstanceOfSatisfying(Route.Reject.class,
        x -> assertThat(x.reason()).isEqualTo(Route.Reason.SELF_CALL));
  }

  @Test
  void buildRequest_loopbackOtherPort_passthrough() {
    Route r = OutboundDecision.build(state(source), source, ip(CLIENT_IP),
        new InetSocketAddress(ip("127.0.0.1"), 8080), random);
    assertThat(r).isInstanceOf(Route.Passthrough.class);
  }

  // --- workload-addressed ---

  @Test
  void buildRequest_localNodeTcpWorkload_direct() {
    Workload dst = workload("server").tcp().node("node-a").ip("198.18.1.1").build();
    assertThat(build(state(source, dst), "198.18.1.1", 80))
        .isEqualTo(new Route.Direct(sock("198.18.1.1", 80), dst, java.util.Optional.empty()));
  }

  @Test
  void buildRequest_remoteNodeTcpWorkload_direct() {
    Workload dst = workload("server").tcp().node("node-b").ip("198.18.1.1").build();
    assertThat(build(state(source, dst), "198.18.1.1", 80)).isInstanceOfSatisfying(Route.Direct.class,
        d -> assertThat(d.destination()).isEqualTo(sock("198.18.1.1", 80)));
  }

  @Test
  void buildRequest_localNodeHboneWorkload_hboneToPort15008() {
    Workload dst = workload("server").node("node-a").ip("198.18.1.1").build();
    assertThat(build(state(source, dst), "198.18.1.1", 80)).isInstanceOfSatisfying(Route.Hbone.class, h -> {
      assertThat(h.destination()).isEqualTo(sock("198.18.1.1", 15008));
      assertThat(h.authority()).isEqualTo(sock("198.18.1.1", 80));
      assertThat(h.expectedIdentities()).containsExactly(SA_DEFAULT);
      assertThat(h.hop()).isEqualTo(Route.Hop.WORKLOAD);
    });
  }

  @Test
  void buildRequest_remoteNodeHboneWorkload_hboneWithWorkloadIdentity() {
    Workload dst = workload("server").sa("server").node("node-b").ip("198.18.1.1").build();
    assertThat(build(state(source, dst), "198.18.1.1", 80)).isInstanceOfSatisfying(Route.Hbone.class, h -> {
      assertThat(h.destination()).isEqualTo(sock("198.18.1.1", 15008));
      assertThat(h.expectedIdentities()).containsExactly(SpiffeId.of("cluster.local", "default", "server"));
    });
  }

  @Test
  void buildRequest_multiAddressWorkload_keepsTargetIp() {
    Workload dst = workload("server").ip("198.18.1.1", "2001:db8::1").build();
    assertThat(build(state(source, dst), "2001:db8::1", 80)).isInstanceOfSatisfying(Route.Hbone.class, h -> {
      assertThat(h.destination()).isEqualTo(sock("2001:db8::1", 15008));
      assertThat(h.authority()).isEqualTo(sock("2001:db8::1", 80));
    });
  }

  @Test
  void buildRequest_ipOwnedByWorkloadAndVip_workloadWins() {
    Workload dst = workload("server").tcp().ip("198.19.0.1").build();
    ProxyState s = state(source, dst, svc().build(), workload("ep").ip("198.18.1.2").in(SVC).build());
    assertThat(build(s, "198.19.0.1", 80)).isEqualTo(new Route.Direct(sock("198.19.0.1", 80), dst, java.util.Optional.empty()));
  }

  // --- waypoints ---

  @Test
  void buildRequest_destinationWorkloadWaypoint_tunnelsToWaypointWithTargetAuthority() {
    Workload dst = workload("server").tcp().ip("198.18.1.1").waypoint(gwHost("default", "waypoint.default.svc.cluster.local", 15008)).build();
    ProxyState s = state(source, dst, waypointService(), waypointPod());
    assertThat(build(s, "198.18.1.1", 80)).isInstanceOfSatisfying(Route.Hbone.class, h -> {
      assertThat(h.destination()).isEqualTo(sock("198.18.0.50", 15008));
      assertThat(h.authority()).isEqualTo(sock("198.18.1.1", 80));
      assertThat(h.expectedIdentities()).containsExactly(SA_WAYPOINT);
      assertThat(h.hop()).isEqualTo(Route.Hop.WORKLOAD_WAYPOINT);
    });
  }

  @Test
  void buildRequest_destinationWaypointByAddress_tunnelsToWaypointPod() {
    Workload dst = workload("server").tcp().ip("198.18.1.1").waypoint(gwAddr("", "198.18.0.50", 15008)).build();
    ProxyState s = state(source, dst, waypointPod());
    assertThat(build(s, "198.18.1.1", 80)).isInstanceOfSatisfying(Route.Hbone.class,
        h -> assertThat(h.destination()).isEqualTo(sock("198.18.0.50", 15008)));
  }

  @Test
  void buildRequest_senderIsDestinationWaypoint_skipsWaypointToAvoidLoop() {
    Workload dst = workload("server").tcp().ip("198.18.1.1").waypoint(gwHost("default", "waypoint.default.svc.cluster.local", 15008)).build();
    Workload wp = waypointPod();
    ProxyState s = state(source, dst, waypointService(), wp);
    assertThat(build(s, wp, "198.18.0.50", "198.18.1.1", 80))
        .isEqualTo(new Route.Direct(sock("198.18.1.1", 80), dst, java.util.Optional.empty()));
  }

  @Test
  void buildRequest_waypointIdentityFromOtherIp_stillTunnelsToWaypoint() {
    Workload dst = workload("server").tcp().ip("198.18.1.1").waypoint(gwHost("default", "waypoint.default.svc.cluster.local", 15008)).build();
    Workload impostor = workload("impostor").sa("waypoint").ip("198.18.0.60").build();
    ProxyState s = state(source, dst, waypointService(), waypointPod(), impostor);
    assertThat(build(s, impostor, "198.18.0.60", "198.18.1.1", 80)).isInstanceOfSatisfying(Route.Hbone.class,
        h -> assertThat(h.hop()).isEqualTo(Route.Hop.WORKLOAD_WAYPOINT));
  }

  @Test
  void buildRequest_sourceWaypoint_ignoredForOutbound() {
    Workload src = workload("client").ip(CLIENT_IP).waypoint(gwHost("default", "waypoint.default.svc.cluster.local", 15008)).build();
    Workload dst = workload("server").tcp().ip("198.18.1.1").build();
    ProxyState s = state(src, dst, waypointService(), waypointPod());
    assertThat(build(s, src, CLIENT_IP, "198.18.1.1", 80)).isInstanceOf(Route.Direct.class);
  }

  @Test
  void buildRequest_serviceWithWaypoint_tunnelsToWaypointWithVipAuthority() {
    ProxyState s = state(source, svc().waypoint(gwHost("default", "waypoint.default.svc.cluster.local", 15008)).build(),
        workload("ep").tcp().ip("198.18.1.2").in(SVC).build(), waypointService(), waypointPod());
    assertThat(build(s, "198.19.0.1", 80)).isInstanceOfSatisfying(Route.Hbone.class, h -> {
      assertThat(h.destination()).isEqualTo(sock("198.18.0.50", 15008));
      assertThat(h.authority()).isEqualTo(sock("198.19.0.1", 80));
      assertThat(h.expectedIdentities()).containsExactly(SA_WAYPOINT);
      assertThat(h.hop()).isEqualTo(Route.Hop.SERVICE_WAYPOINT);
    });
  }

  @Test
  void buildRequest_serviceAddressed_ignoresEndpointWorkloadWaypoint() {
    ProxyState s = state(source, svc().build(), waypointService(), waypointPod(),
        workload("ep").tcp().ip("198.18.1.2").in(SVC).waypoint(gwHost("default", "waypoint.default.svc.cluster.local", 15008)).build());
    assertThat(build(s, "198.19.0.1", 80)).isInstanceOfSatisfying(Route.Direct.class,
        d -> assertThat(d.destination()).isEqualTo(sock("198.18.1.2", 8080)));
  }

  @Test
  void buildRequest_passthroughServiceWithoutWaypoint_passthrough() {
    ProxyState s = state(source, svc().lb(Mode.PASSTHROUGH).build(), workload("ep").ip("198.18.1.2").in(SVC).build());
    assertThat(build(s, "198.19.0.1", 80)).isEqualTo(new Route.Passthrough(sock("198.19.0.1", 80)));
  }

  @Test
  void buildRequest_passthroughServiceWithWaypoint_tunnelsToWaypoint() {
    ProxyState s = state(source,
        svc().lb(Mode.PASSTHROUGH).waypoint(gwHost("default", "waypoint.default.svc.cluster.local", 15008)).build(),
        waypointService(), waypointPod());
    assertThat(build(s, "198.19.0.1", 80)).isInstanceOfSatisfying(Route.Hbone.class, h -> {
      assertThat(h.destination()).isEqualTo(sock("198.18.0.50", 15008));
      assertThat(h.authority()).isEqualTo(sock("198.19.0.1", 80));
    });
  }

  @Test
  void buildRequest_unknownServiceWaypoint_rejected() {
    ProxyState s = state(source, svc().waypoint(gwHost("default", "missing.default.svc.cluster.local", 15008)).build());
    assertThat(build(s, "198.19.0.1", 80)).isInstanceOfSatisfying(Route.Reject.class,
        r -> assertThat(r.reason()).isEqualTo(Route.Reason.UNKNOWN_GATEWAY));
  }

  @Test
  void buildRequest_weightedWaypoints_chosenByWeight() {
    Workload wp2 = workload("waypoint2").sa("waypoint2").ip("198.18.0.51").build();
    ProxyState s = state(source, svc()
        .weighted(gwAddr("", "198.18.0.50", 15008), 1)
        .weighted(gwAddr("", "198.18.0.51", 15008), 3)
        .weighted(gwAddr("", "198.18.0.52", 15008), 0).build(), waypointPod(), wp2);
    Map<InetSocketAddress, Integer> counts = new HashMap<>();
    for (int i = 0; i < 8000; i++) {
      Route.Hbone h = (Route.Hbone) build(s, "198.19.0.1", 80);
      counts.merge(h.destination(), 1, Integer::sum);
    }
    assertThat(counts).containsOnlyKeys(sock("198.18.0.50", 15008), sock("198.18.0.51", 15008));
    assertThat(counts.get(sock("198.18.0.51", 15008)) / 8000.0).isBetween(0.72, 0.78);
  }

  @Test
  void buildRequest_weightedWaypointsAllZero_fallsBackToWaypoint() {
    ProxyState s = state(source, svc().waypoint(gwAddr("", "198.18.0.50", 15008))
        .weighted(gwAddr("", "198.18.0.51", 15008), 0).build(), waypointPod());
    assertThat(build(s, "198.19.0.1", 80)).isInstanceOfSatisfying(Route.Hbone.class,
        h -> assertThat(h.destination()).isEqualTo(sock("198.18.0.50", 15008)));
  }

  // --- services ---

  @Test
  void buildRequest_serviceHboneEndpoint_tunnelsWithTargetPortAndServiceSans() {
    ProxyState s = state(source, svc().san("spiffe://cluster.local/ns/default/sa/extra").build(),
        workload("ep").sa("ep").ip("198.18.1.2").in(SVC).build());
    assertThat(build(s, "198.19.0.1", 80)).isInstanceOfSatisfying(Route.Hbone.class, h -> {
      assertThat(h.destination()).isEqualTo(sock("198.18.1.2", 15008));
      assertThat(h.authority()).isEqualTo(sock("198.18.1.2", 8080));
      assertThat(h.expectedIdentities()).containsExactly(SpiffeId.of("cluster.local", "default", "ep"),
          SpiffeId.of("cluster.local", "default", "extra"));
      assertThat(h.service().orElseThrow().key()).isEqualTo(SVC);
    });
  }

  @Test
  void buildRequest_serviceTcpEndpoint_direct() {
    ProxyState s = state(source, svc().build(), workload("ep").tcp().ip("198.18.1.2").in(SVC).build());
    assertThat(build(s, "198.19.0.1", 80)).isInstanceOfSatisfying(Route.Direct.class,
        d -> assertThat(d.destination()).isEqualTo(sock("198.18.1.2", 8080)));
  }

  @Test
  void buildRequest_cidrVipService_routesToEndpoint() {
    ProxyState s = state(source, service("svc").cidr("198.19.4.0", 24).port(80, 8080).build(),
        workload("ep").tcp().ip("198.18.1.2").in(SVC).build());
    assertThat(build(s, "198.19.4.77", 80)).isInstanceOfSatisfying(Route.Direct.class,
        d -> assertThat(d.destination()).isEqualTo(sock("198.18.1.2", 8080)));
  }

  @Test
  void buildRequest_emptyService_rejectsNoHealthyUpstream() {
    ProxyState s = state(source, svc().build());
    assertThat(build(s, "198.19.0.1", 80)).isInstanceOfSatisfying(Route.Reject.class,
        r -> assertThat(r.reason()).isEqualTo(Route.Reason.NO_HEALTHY_UPSTREAM));
  }

  @Test
  void buildRequest_serviceOnlyUnhealthyEndpoints_rejectsNoHealthyUpstream() {
    ProxyState s = state(source, svc().build(), workload("ep").unhealthy().ip("198.18.1.2").in(SVC).build());
    assertThat(build(s, "198.19.0.1", 80)).isInstanceOfSatisfying(Route.Reject.class,
        r -> assertThat(r.reason()).isEqualTo(Route.Reason.NO_HEALTHY_UPSTREAM));
  }

  @Test
  void buildRequest_serviceUndefinedPort_rejectsNoHealthyUpstream() {
    ProxyState s = state(source, svc().build(), workload("ep").ip("198.18.1.2").in(SVC).build());
    assertThat(build(s, "198.19.0.1", 81)).isInstanceOf(Route.Reject.class);
  }

  @Test
  void buildRequest_targetPort_endpointMapWinsOverServiceTarget() {
    ProxyState s = state(source, svc().build(), workload("ep").tcp().ip("198.18.1.2").in(SVC, new Port(80, 9090)).build());
    assertThat(build(s, "198.19.0.1", 80)).isInstanceOfSatisfying(Route.Direct.class,
        d -> assertThat(d.destination().getPort()).isEqualTo(9090));
  }

  @Test
  void buildRequest_targetPort_namedPortZeroResolvedPerEndpoint() {
    ProxyState s = state(source, service("svc").vip("198.19.0.1").port(80, 0).build(),
        workload("ep").tcp().ip("198.18.1.2").in(SVC, new Port(80, 7070)).build());
    assertThat(build(s, "198.19.0.1", 80)).isInstanceOfSatisfying(Route.Direct.class,
        d -> assertThat(d.destination()).isEqualTo(sock("198.18.1.2", 7070)));
  }

  @Test
  void buildRequest_targetPort_namedPortWithoutEndpointMapping_rejected() {
    ProxyState s = state(source, service("svc").vip("198.19.0.1").port(80, 0).build(),
        workload("ep").tcp().ip("198.18.1.2").in(SVC).build());
    assertThat(build(s, "198.19.0.1", 80)).isInstanceOfSatisfying(Route.Reject.class,
        r -> assertThat(r.reason()).isEqualTo(Route.Reason.NO_HEALTHY_UPSTREAM));
  }

  @Test
  void buildRequest_targetPort_appTunnelEndpointKeepsServicePort() {
    var sv = service("svc").vip("198.19.0.1").port(80, 0).build();
    // The endpoint lists the port but maps it to 0: only its app tunnel makes it routable.
    var ep = workload("ep").ip("198.18.1.2").appTunnel(15088).in(SVC, new Port(80, 0)).build();
    ServiceEntryAccess.assertPort(state(source, sv, ep), 80, 80);
  }

  @Test
  void buildRequest_serviceIpv6Only_choosesV6EndpointAddress() {
    ProxyState s = state(source, svc().families(Service.IpFamilies.IPV6_ONLY).build(),
        workload("ep").tcp().ip("198.18.1.2", "2001:db8::2").in(SVC).build());
    assertThat(build(s, "198.19.0.1", 80)).isInstanceOfSatisfying(Route.Direct.class,
        d -> assertThat(d.destination()).isEqualTo(sock("2001:db8::2", 8080)));
  }

  @Test
  void buildRequest_serviceDualStackV6Vip_choosesSameFamilyAsTarget() {
    ProxyState s = state(source, svc().vip("2001:db8::100").build(),
        workload("ep").tcp().ip("198.18.1.2", "2001:db8::2").in(SVC).build());
    assertThat(build(s, "2001:db8::100", 80)).isInstanceOfSatisfying(Route.Direct.class,
        d -> assertThat(d.destination()).isEqualTo(sock("2001:db8::2", 8080)));
    assertThat(build(s, "198.19.0.1", 80)).isInstanceOfSatisfying(Route.Direct.class,
        d -> assertThat(d.destination()).isEqualTo(sock("198.18.1.2", 8080)));
  }

  @Test
  void buildRequest_serviceIpv4OnlyWithV6OnlyEndpoint_rejectsNoValidDestination() {
    ProxyState s = state(source, svc().families(Service.IpFamilies.IPV4_ONLY).build(),
        workload("ep").tcp().ip("2001:db8::2").in(SVC).build());
    assertThat(build(s, "198.19.0.1", 80)).isInstanceOfSatisfying(Route.Reject.class,
        r -> assertThat(r.reason()).isEqualTo(Route.Reason.NO_VALID_DESTINATION));
  }

  @Test
  void buildRequest_hostnameEndpoint_unresolvedDestinationForConnector() {
    ProxyState s = state(source, svc().build(), workload("ext").tcp().hostname("ext.example.test").in(SVC).build());
    assertThat(build(s, "198.19.0.1", 80)).isInstanceOfSatisfying(Route.Direct.class, d -> {
      assertThat(d.destination().isUnresolved()).isTrue();
      assertThat(d.destination().getHostString()).isEqualTo("ext.example.test");
      assertThat(d.destination().getPort()).isEqualTo(8080);
    });
  }

  // --- multi-network ---

  private static Workload eastWestGateway() {
    return workload("ewgw").namespace("istio-system").sa("ewgw").network("net2").ip("198.19.200.1").build();
  }

  @Test
  void buildRequest_remoteNetworkEndpoint_doubleHboneThroughGateway() {
    ProxyState s = state(source, svc().san("spiffe://cluster.local/ns/default/sa/remote").build(), eastWestGateway(),
        workload("remote").network("net2").gateway(gwAddr("net2", "198.19.200.1", 15009)).in(SVC).build());
    assertThat(build(s, "198.19.0.1", 80)).isInstanceOfSatisfying(Route.DoubleHbone.class, d -> {
      assertThat(d.gateway()).isEqualTo(sock("198.19.200.1", 15009));
      assertThat(d.gatewayIdentities()).containsExactly(SpiffeId.of("cluster.local", "istio-system", "ewgw"));
      assertThat(d.authority()).isEqualTo("svc.default.svc.cluster.local:80");
      assertThat(d.innerIdentities()).containsExactly(SpiffeId.of("cluster.local", "default", "remote"));
      assertThat(d.forwardedNetwork()).isEqualTo("");
    });
  }

  @Test
  void buildRequest_failoverToRemoteNetwork_whenLocalEndpointUnhealthy() {
    ProxyState s = state(source, svc().lb(Mode.FAILOVER, Scope.NETWORK).build(), eastWestGateway(),
        workload("local").ip("198.18.1.2").unhealthy().in(SVC).build(),
        workload("remote").network("net2").gateway(gwAddr("net2", "198.19.200.1", 15008)).in(SVC).build());
    assertThat(build(s, "198.19.0.1", 80)).isInstanceOf(Route.DoubleHbone.class);
    ProxyState healthy = state(source, svc().lb(Mode.FAILOVER, Scope.NETWORK).build(), eastWestGateway(),
        workload("local").ip("198.18.1.2").in(SVC).build(),
        workload("remote").network("net2").gateway(gwAddr("net2", "198.19.200.1", 15008)).in(SVC).build());
    for (int i = 0; i < 50; i++) {
      assertThat(build(healthy, "198.19.0.1", 80)).isInstanceOf(Route.Hbone.class);
    }
  }

  @Test
  void buildRequest_remoteNetworkEndpointWithoutGateway_rejectsNoValidDestination() {
    ProxyState s = state(source, svc().build(), workload("remote").network("net2").ip("198.18.3.3").in(SVC).build());
    assertThat(build(s, "198.19.0.1", 80)).isInstanceOfSatisfying(Route.Reject.class,
        r -> assertThat(r.reason()).isEqualTo(Route.Reason.NO_VALID_DESTINATION));
  }

  @Test
  void buildRequest_unknownNetworkGateway_rejected() {
    ProxyState s = state(source, svc().build(),
        workload("remote").network("net2").gateway(gwAddr("net2", "198.19.200.9", 15008)).in(SVC).build());
    assertThat(build(s, "198.19.0.1", 80)).isInstanceOfSatisfying(Route.Reject.class,
        r -> assertThat(r.reason()).isEqualTo(Route.Reason.UNKNOWN_GATEWAY));
  }

  @Test
  void buildRequest_serviceWaypointOnRemoteNetwork_doubleHboneWithWaypointSans() {
    Workload remoteWp = workload("waypoint").sa("waypoint").network("net2")
        .gateway(gwAddr("net2", "198.19.200.1", 15008)).in(WP_SVC, new Port(15008, 15008)).build();
    ProxyState s = state(source, svc().waypoint(gwHost("default", "waypoint.default.svc.cluster.local", 15008)).build(),
        service("waypoint").port(15008, 15008).san("spiffe://cluster.local/ns/default/sa/waypoint").build(),
        remoteWp, eastWestGateway());
    assertThat(build(s, "198.19.0.1", 80)).isInstanceOfSatisfying(Route.DoubleHbone.class, d -> {
      assertThat(d.gateway()).isEqualTo(sock("198.19.200.1", 15008));
      assertThat(d.authority()).isEqualTo("svc.default.svc.cluster.local:80");
      assertThat(d.innerIdentities()).containsExactly(SA_WAYPOINT);
    });
  }

  /** Asserts the target port resolved for a service whose endpoint relies on its app tunnel. */
  private static final class ServiceEntryAccess {
    static void assertPort(ProxyState s, int servicePort, int expected) {
      Workload src = s.workload("Kubernetes//Pod/default/client").orElseThrow();
      Route r = OutboundDecision.build(s, src, ip(CLIENT_IP), new InetSocketAddress(ip("198.19.0.1"), servicePort),
          new SplittableRandom(3));
      assertThat(r).isInstanceOfSatisfying(Route.Hbone.class, h -> assertThat(h.authority().getPort()).isEqualTo(expected));
    }
  }

  @Test
  void buildRequest_targetPort_endpointMapsToZeroWithoutAppTunnel_rejected() {
    ProxyState s = state(source, service("svc").vip("198.19.0.1").port(80, 0).build(),
        workload("ep").ip("198.18.1.2").in(SVC, new Port(80, 0)).build());
    assertThat(build(s, "198.19.0.1", 80)).isInstanceOfSatisfying(Route.Reject.class,
        r -> assertThat(r.reason()).isEqualTo(Route.Reason.NO_HEALTHY_UPSTREAM));
  }

  @Test
  void buildRequest_namespaceVisibleServiceFromOtherNamespace_passthrough() {
    ProxyState s = state(source, service("svc").namespace("private").vip("198.19.0.1").port(80, 8080).namespaceVisible().build(),
        workload("ep").namespace("private").ip("198.18.1.2").in("private/svc.private.svc.cluster.local").build());
    assertThat(build(s, "198.19.0.1", 80)).isInstanceOf(Route.Passthrough.class);
  }

  @Test
  void illegalPorts_areTheProxyPorts() {
    assertThat(OutboundDecision.ILLEGAL_PORTS).containsExactlyInAnyOrder(15001, 15006, 15008);
    assertThat(List.of(OutboundDecision.HBONE_PORT)).containsExactly(15008);
  }
}
