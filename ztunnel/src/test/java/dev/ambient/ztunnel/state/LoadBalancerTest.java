package dev.ambient.ztunnel.state;

import static dev.ambient.ztunnel.state.Fixtures.push;
import static dev.ambient.ztunnel.state.Fixtures.service;
import static dev.ambient.ztunnel.state.Fixtures.workload;
import static org.assertj.core.api.Assertions.assertThat;

import dev.ambient.xds.client.AddressResource;
import dev.ambient.xds.client.LoadBalancing.Mode;
import dev.ambient.xds.client.LoadBalancing.Scope;
import dev.ambient.xds.client.Port;
import dev.ambient.xds.client.Workload;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class LoadBalancerTest {
  private static final String SVC = "default/svc.default.svc.cluster.local";
  private static final Workload SOURCE = workload("client").ip("198.18.9.9").node("n1").network("net1")
      .locality("r1", "z1", "s1").build();

  private ProxyState state(Fixtures.SB svc, Fixtures.WB... endpoints) {
    List<AddressResource> rs = new ArrayList<>();
    rs.add(svc.build());
    for (Fixtures.WB w : endpoints) {
      rs.add(w.in(SVC).build());
    }
    return new StateUpdater(new StateHolder()).apply(push(rs.toArray(AddressResource[]::new)));
  }

  private static Set<String> picks(ProxyState s, int port, int n) {
    SplittableRandom random = new SplittableRandom(7);
    ServiceEntry e = s.serviceByKey(SVC).orElseThrow();
    Set<String> out = new HashSet<>();
    for (int i = 0; i < n; i++) {
      LoadBalancer.pick(s, e, SOURCE, port, LoadBalancer.Resolution.STANDARD, random)
          .ifPresent(p -> out.add(p.workload().name()));
    }
    return out;
  }

  private static Fixtures.WB ep(String name, String ip, String network, String region, String zone, String subzone) {
    return workload(name).ip(ip).network(network).locality(region, zone, subzone);
  }

  @Test
  void pick_standard_ignoresPreferencesAndUsesAll() {
    ProxyState s = state(service("svc").vip("198.19.0.1").port(80, 8080).lb(Mode.STANDARD, Scope.REGION),
        ep("near", "198.18.0.1", "net1", "r1", "z1", "s1"), ep("far", "198.18.0.2", "net1", "r2", "z2", "s2"));
    assertThat(picks(s, 80, 200)).containsExactlyInAnyOrder("near", "far");
  }

  @Test
  void pick_failover_prefersBestMatchingScope() {
    ProxyState s = state(service("svc").vip("198.19.0.1").port(80, 8080).lb(Mode.FAILOVER, Scope.REGION, Scope.ZONE),
        ep("zone", "198.18.0.1", "net1", "r1", "z1", "x"), ep("region", "198.18.0.2", "net1", "r1", "z9", "x"),
        ep("far", "198.18.0.3", "net1", "r2", "z1", "x"));
    assertThat(picks(s, 80, 200)).containsExactly("zone");
  }

  @Test
  void pick_failover_fallsBackToNextScopeWhenBestGone() {
    ProxyState s = state(service("svc").vip("198.19.0.1").port(80, 8080).lb(Mode.FAILOVER, Scope.REGION, Scope.ZONE),
        ep("region", "198.18.0.2", "net1", "r1", "z9", "x"), ep("far", "198.18.0.3", "net1", "r2", "z1", "x"));
    assertThat(picks(s, 80, 200)).containsExactly("region");
    s = state(service("svc").vip("198.19.0.1").port(80, 8080).lb(Mode.FAILOVER, Scope.REGION, Scope.ZONE),
        ep("far", "198.18.0.3", "net1", "r2", "z1", "x"));
    assertThat(picks(s, 80, 50)).containsExactly("far");
  }

  @Test
  void pick_strict_dropsEndpointsNotMatchingAllScopes() {
    ProxyState s = state(service("svc").vip("198.19.0.1").port(80, 8080).lb(Mode.STRICT, Scope.REGION, Scope.ZONE),
        ep("region", "198.18.0.2", "net1", "r1", "z9", "x"));
    assertThat(picks(s, 80, 50)).isEmpty();
    s = state(service("svc").vip("198.19.0.1").port(80, 8080).lb(Mode.STRICT, Scope.REGION, Scope.ZONE),
        ep("region", "198.18.0.2", "net1", "r1", "z9", "x"), ep("zone", "198.18.0.1", "net1", "r1", "z1", "x"));
    assertThat(picks(s, 80, 50)).containsExactly("zone");
  }

  @Test
  void pick_failover_eachScopeKind() {
    for (Scope scope : Scope.values()) {
      Fixtures.WB match = ep("match", "198.18.0.1", "net1", "r1", "z1", "s1").node("n1");
      Fixtures.WB miss = switch (scope) {
        case REGION -> ep("miss", "198.18.0.2", "net1", "r2", "z1", "s1").node("n1");
        case ZONE -> ep("miss", "198.18.0.2", "net1", "r1", "z2", "s1").node("n1");
        case SUBZONE -> ep("miss", "198.18.0.2", "net1", "r1", "z1", "s2").node("n1");
        case NODE -> ep("miss", "198.18.0.2", "net1", "r1", "z1", "s1").node("n2");
        case CLUSTER -> ep("miss", "198.18.0.2", "net1", "r1", "z1", "s1").node("n1").cluster("other");
        case NETWORK -> ep("miss", "198.18.0.2", "net2", "r1", "z1", "s1").node("n1")
            .gateway(Fixtures.gwAddr("net2", "198.19.9.9", 15008));
      };
      ProxyState s = state(service("svc").vip("198.19.0.1").port(80, 8080).lb(Mode.FAILOVER, scope), match, miss);
      assertThat(picks(s, 80, 100)).as("scope %s", scope).containsExactly("match");
    }
  }

  @Test
  void pick_networkFirst_isPreferredNotRequired() {
    // Same network beats a remote endpoint that matches the later scopes.
    ProxyState s = state(service("svc").vip("198.19.0.1").port(80, 8080).lb(Mode.FAILOVER, Scope.NETWORK, Scope.REGION, Scope.ZONE),
        ep("local", "198.18.0.1", "net1", "r9", "z9", "x"),
        ep("remote", "198.18.0.2", "net2", "r1", "z1", "x").gateway(Fixtures.gwAddr("net2", "198.19.9.9", 15008)));
    assertThat(picks(s, 80, 100)).containsExactly("local");
    // With no same-network endpoint, ranking continues past the network scope.
    s = state(service("svc").vip("198.19.0.1").port(80, 8080).lb(Mode.FAILOVER, Scope.NETWORK, Scope.REGION),
        ep("r1", "198.18.0.1", "net2", "r1", "z9", "x"), ep("r2", "198.18.0.2", "net2", "r2", "z1", "x"));
    assertThat(picks(s, 80, 100)).containsExactly("r1");
  }

  @Test
  void pick_capacityZero_neverChosen() {
    ProxyState s = state(service("svc").vip("198.19.0.1").port(80, 8080),
        workload("zero").ip("198.18.0.1").capacity(0), workload("one").ip("198.18.0.2"));
    assertThat(picks(s, 80, 500)).containsExactly("one");
    s = state(service("svc").vip("198.19.0.1").port(80, 8080), workload("zero").ip("198.18.0.1").capacity(0));
    assertThat(picks(s, 80, 50)).isEmpty();
  }

  @Test
  void pick_capacityWeights_respectedStatistically() {
    ProxyState s = state(service("svc").vip("198.19.0.1").port(80, 8080),
        workload("one").ip("198.18.0.1").capacity(1), workload("three").ip("198.18.0.2").capacity(3));
    SplittableRandom random = new SplittableRandom(42);
    ServiceEntry e = s.serviceByKey(SVC).orElseThrow();
    Map<String, Integer> counts = new HashMap<>();
    int n = 20_000;
    for (int i = 0; i < n; i++) {
      String name = LoadBalancer.pick(s, e, SOURCE, 80, LoadBalancer.Resolution.STANDARD, random).orElseThrow().workload().name();
      counts.merge(name, 1, Integer::sum);
    }
    assertThat(counts.get("three") / (double) n).isBetween(0.73, 0.77);
  }

  @Test
  void pick_serviceLacksPort_noEndpointInStandardMode() {
    ProxyState s = state(service("svc").vip("198.19.0.1").port(80, 8080), workload("a").ip("198.18.0.1"));
    assertThat(picks(s, 81, 10)).isEmpty();
  }

  @Test
  void pick_namedPort_requiresEndpointMapping() {
    List<AddressResource> rs = List.of(service("svc").vip("198.19.0.1").port(80, 0).build(),
        workload("mapped").ip("198.18.0.1").in(SVC, new Port(80, 9000)).build(),
        workload("unmapped").ip("198.18.0.2").in(SVC).build());
    ProxyState s = new StateUpdater(new StateHolder()).apply(push(rs.toArray(AddressResource[]::new)));
    assertThat(picks(s, 80, 100)).containsExactly("mapped");
  }

  @Test
  void pick_waypointMode_keepsAppTunnelWorkloadWithoutServicePort() {
    ProxyState s = state(service("svc").vip("198.19.0.1").port(80, 8080),
        workload("tunnel").ip("198.18.0.1").appTunnel(0), workload("plain").ip("198.18.0.2"));
    ServiceEntry e = s.serviceByKey(SVC).orElseThrow();
    Set<String> got = new HashSet<>();
    SplittableRandom random = new SplittableRandom(1);
    for (int i = 0; i < 100; i++) {
      LoadBalancer.pick(s, e, SOURCE, 15008, LoadBalancer.Resolution.WAYPOINT, random)
          .ifPresent(p -> got.add(p.workload().name()));
    }
    assertThat(got).containsExactly("tunnel");
  }

  @Test
  void pick_workloadWithoutAddress_onlyUsableRemoteWithGateway() {
    ProxyState s = state(service("svc").vip("198.19.0.1").port(80, 8080),
        workload("sameNet").network("net1"),
        workload("remoteNoGw").network("net2"),
        workload("remoteGw").network("net2").gateway(Fixtures.gwAddr("net2", "198.19.9.9", 15008)));
    assertThat(picks(s, 80, 100)).containsExactly("remoteGw");
  }

  @Test
  void pick_emptyService_empty() {
    ProxyState s = state(service("svc").vip("198.19.0.1").port(80, 8080));
    ServiceEntry e = s.serviceByKey(SVC).orElseThrow();
    assertThat(LoadBalancer.pick(s, e, SOURCE, 80, LoadBalancer.Resolution.STANDARD, new SplittableRandom(1)))
        .isEqualTo(Optional.empty());
  }
}
