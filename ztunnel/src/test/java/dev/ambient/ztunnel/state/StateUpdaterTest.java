package dev.ambient.ztunnel.state;

import static dev.ambient.ztunnel.state.Fixtures.ip;
import static dev.ambient.ztunnel.state.Fixtures.push;
import static dev.ambient.ztunnel.state.Fixtures.remove;
import static dev.ambient.ztunnel.state.Fixtures.service;
import static dev.ambient.ztunnel.state.Fixtures.workload;
import static org.assertj.core.api.Assertions.assertThat;

import dev.ambient.xds.client.AddressResource;
import dev.ambient.xds.client.Port;
import dev.ambient.xds.client.Workload;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class StateUpdaterTest {
  private static final String SVC = "default/svc.default.svc.cluster.local";
  private final StateHolder holder = new StateHolder();
  private final StateUpdater updater = new StateUpdater(holder);

  private static NetworkIp at(String address) {
    return new NetworkIp("", ip(address));
  }

  @Test
  void apply_workload_indexedByUidAndAddressAndPublished() {
    ProxyState s = updater.apply(push(workload("a").ip("198.18.0.1", "2001:db8::1").build()));
    assertThat(holder.current()).isSameAs(s);
    assertThat(s.workload("Kubernetes//Pod/default/a")).isPresent();
    assertThat(s.workloadByAddress(at("198.18.0.1")).orElseThrow().name()).isEqualTo("a");
    assertThat(s.workloadByAddress(at("2001:db8::1")).orElseThrow().name()).isEqualTo("a");
    assertThat(s.workloadByAddress(new NetworkIp("other", ip("198.18.0.1")))).isEmpty();
  }

  @Test
  void apply_workloadUpsert_dropsOldAddresses() {
    updater.apply(push(workload("a").ip("198.18.0.1").build()));
    ProxyState s = updater.apply(push(workload("a").ip("198.18.0.2").build()));
    assertThat(s.workloadByAddress(at("198.18.0.1"))).isEmpty();
    assertThat(s.workloadByAddress(at("198.18.0.2"))).isPresent();
    assertThat(s.workloadCount()).isEqualTo(1);
  }

  @Test
  void apply_hostNetworkWorkload_notIndexedByAddress() {
    ProxyState s = updater.apply(push(workload("h").ip("198.18.0.9").hostNetwork().build()));
    assertThat(s.workload("Kubernetes//Pod/default/h")).isPresent();
    assertThat(s.workloadByAddress(at("198.18.0.9"))).isEmpty();
  }

  @Test
  void apply_sharedAddress_prefersPodHboneThenPodThenHbone() {
    Workload other = workload("x").uid("Kubernetes/networking.istio.io/WorkloadEntry/default/x").tcp().ip("198.18.0.5").build();
    Workload hboneEntry = workload("y").uid("Kubernetes/networking.istio.io/WorkloadEntry/default/y").ip("198.18.0.5").build();
    Workload tcpPod = workload("z").tcp().ip("198.18.0.5").build();
    Workload hbonePod = workload("w").ip("198.18.0.5").build();
    assertThat(updater.apply(push(other)).workloadByAddress(at("198.18.0.5")).orElseThrow().name()).isEqualTo("x");
    assertThat(updater.apply(push(hboneEntry)).workloadByAddress(at("198.18.0.5")).orElseThrow().name()).isEqualTo("y");
    assertThat(updater.apply(push(tcpPod)).workloadByAddress(at("198.18.0.5")).orElseThrow().name()).isEqualTo("z");
    ProxyState s = updater.apply(push(hbonePod));
    assertThat(s.workloadByAddress(at("198.18.0.5")).orElseThrow().name()).isEqualTo("w");
    assertThat(s.workloadsByAddress(at("198.18.0.5"))).hasSize(4);
    s = updater.apply(remove(hbonePod.uid()));
    assertThat(s.workloadByAddress(at("198.18.0.5")).orElseThrow().name()).isEqualTo("z");
  }

  @Test
  void apply_endpointBeforeService_isStagedThenAttached() {
    ProxyState s = updater.apply(push(workload("a").ip("198.18.0.1").in(SVC, new Port(80, 8080)).build()));
    assertThat(s.serviceByKey(SVC)).isEmpty();
    assertThat(s.stagedEndpoints(SVC)).containsOnlyKeys("Kubernetes//Pod/default/a");
    s = updater.apply(push(service("svc").vip("198.19.0.1").port(80, 8080).build()));
    assertThat(s.stagedEndpoints(SVC)).isEmpty();
    assertThat(s.serviceByKey(SVC).orElseThrow().endpoints()).containsOnlyKeys("Kubernetes//Pod/default/a");
    assertThat(s.serviceByKey(SVC).orElseThrow().endpoints().get("Kubernetes//Pod/default/a").targetPort(80))
        .hasValue(8080);
  }

  @Test
  void apply_stagedUnhealthyEndpoint_filteredWhenServiceArrives() {
    updater.apply(push(workload("a").ip("198.18.0.1").unhealthy().in(SVC).build(),
        workload("b").ip("198.18.0.2").in(SVC).build()));
    ProxyState s = updater.apply(push(service("svc").vip("198.19.0.1").port(80, 8080).build()));
    assertThat(s.serviceByKey(SVC).orElseThrow().endpoints()).containsOnlyKeys("Kubernetes//Pod/default/b");
  }

  @Test
  void apply_unhealthyEndpoint_keptWhenAllowAll() {
    ProxyState s = updater.apply(push(service("svc").vip("198.19.0.1").port(80, 8080).allowAll().build(),
        workload("a").ip("198.18.0.1").unhealthy().in(SVC).build()));
    assertThat(s.serviceByKey(SVC).orElseThrow().endpoints()).containsOnlyKeys("Kubernetes//Pod/default/a");
  }

  @Test
  void apply_serviceUpsert_keepsEndpoints() {
    updater.apply(push(service("svc").vip("198.19.0.1").port(80, 8080).build(),
        workload("a").ip("198.18.0.1").in(SVC).build()));
    ProxyState s = updater.apply(push(service("svc").vip("198.19.0.2").port(80, 9090).build()));
    ServiceEntry e = s.serviceByKey(SVC).orElseThrow();
    assertThat(e.endpoints()).containsOnlyKeys("Kubernetes//Pod/default/a");
    assertThat(e.servicePortTarget(80)).hasValue(9090);
    assertThat(s.findServiceByVip(at("198.19.0.1"), "default")).isEmpty();
    assertThat(s.findServiceByVip(at("198.19.0.2"), "default")).isPresent();
  }

  @Test
  void apply_workloadRemoved_dropsItsEndpoints() {
    updater.apply(push(service("svc").vip("198.19.0.1").port(80, 8080).build(),
        workload("a").ip("198.18.0.1").in(SVC).build(), workload("b").ip("198.18.0.2").in(SVC).build()));
    ProxyState s = updater.apply(remove("Kubernetes//Pod/default/a"));
    assertThat(s.serviceByKey(SVC).orElseThrow().endpoints()).containsOnlyKeys("Kubernetes//Pod/default/b");
    assertThat(s.workloadByAddress(at("198.18.0.1"))).isEmpty();
  }

  @Test
  void apply_workloadLeavesService_onUpsert() {
    updater.apply(push(service("svc").vip("198.19.0.1").port(80, 8080).build(),
        workload("a").ip("198.18.0.1").in(SVC).build()));
    ProxyState s = updater.apply(push(workload("a").ip("198.18.0.1").build()));
    assertThat(s.serviceByKey(SVC).orElseThrow().endpoints()).isEmpty();
  }

  @Test
  void apply_removeServiceByName_removesIndexesAndStagesEndpoints() {
    updater.apply(push(service("svc").vip("198.19.0.1").port(80, 8080).build(),
        workload("a").ip("198.18.0.1").in(SVC).build()));
    ProxyState s = updater.apply(remove(SVC));
    assertThat(s.serviceByKey(SVC)).isEmpty();
    assertThat(s.findServiceByVip(at("198.19.0.1"), "default")).isEmpty();
    assertThat(s.servicesByHostname("svc.default.svc.cluster.local")).isEmpty();
    assertThat(s.stagedEndpoints(SVC)).containsOnlyKeys("Kubernetes//Pod/default/a");
  }

  @Test
  void apply_removeNameWithSlashInHostname_isNotTreatedAsService() {
    // A service whose hostname part would contain '/' cannot be removed by name: such names are uids.
    updater.apply(push(service("svc").hostname("a/b").vip("198.19.0.1").port(80, 80).build()));
    ProxyState s = updater.apply(remove("default/a/b"));
    assertThat(s.serviceByKey("default/a/b")).isPresent();
  }

  @Test
  void apply_removeUidSharingServiceKeyShape_removesWorkloadFirst() {
    updater.apply(push(service("svc").vip("198.19.0.1").port(80, 80).build()));
    updater.apply(push(workload("odd").uid(SVC).ip("198.18.0.7").build()));
    ProxyState s = updater.apply(remove(SVC));
    assertThat(s.workload(SVC)).isEmpty();
    assertThat(s.serviceByKey(SVC)).isPresent();
  }

  @Test
  void apply_removeUnknownAlias_isIgnored() {
    updater.apply(push(workload("a").ip("198.18.0.1").build()));
    ProxyState s = updater.apply(remove("/198.18.0.1"));
    assertThat(s.workloadCount()).isEqualTo(1);
  }

  @Test
  void apply_upsertAndRemoveInOneBatch_endsRemoved() {
    Workload a = workload("a").ip("198.18.0.1").build();
    var update = new dev.ambient.xds.client.XdsUpdate(java.util.Map.of(a.uid(), a), java.util.Set.of(a.uid()),
        java.util.Map.of(), java.util.Set.of());
    assertThat(updater.apply(update).workload(a.uid())).isEmpty();
  }

  @Test
  void apply_oldSnapshot_isUnchangedByLaterPush() {
    ProxyState before = updater.apply(push(workload("a").ip("198.18.0.1").build()));
    updater.apply(remove("Kubernetes//Pod/default/a"));
    assertThat(before.workload("Kubernetes//Pod/default/a")).isPresent();
    assertThat(holder.current().workload("Kubernetes//Pod/default/a")).isEmpty();
  }

  @Test
  void apply_thousandsOfEndpointsInOneBatch_allAttached() {
    List<AddressResource> rs = new ArrayList<>();
    rs.add(service("svc").vip("198.19.0.1").port(80, 8080).build());
    for (int i = 0; i < 4000; i++) {
      rs.add(workload("w" + i).ip("198.18." + (i / 250) + "." + (i % 250 + 1)).in(SVC).build());
    }
    ProxyState s = updater.apply(push(rs.toArray(AddressResource[]::new)));
    assertThat(s.serviceByKey(SVC).orElseThrow().endpoints()).hasSize(4000);
    assertThat(s.workloadCount()).isEqualTo(4000);
  }

  // --- VIP lookup ---

  @Test
  void findServiceByVip_sameVipTwoNamespaces_prefersClientNamespace() {
    ProxyState s = updater.apply(push(service("a").namespace("ns1").vip("198.19.0.1").port(80, 80).build(),
        service("a").namespace("ns2").vip("198.19.0.1").port(80, 80).build()));
    assertThat(s.findServiceByVip(at("198.19.0.1"), "ns2").orElseThrow().service().namespace()).isEqualTo("ns2");
    assertThat(s.findServiceByVip(at("198.19.0.1"), "ns1").orElseThrow().service().namespace()).isEqualTo("ns1");
  }

  @Test
  void findServiceByVip_otherNamespaces_prefersCanonicalThenFirst() {
    ProxyState s = updater.apply(push(service("a").namespace("ns1").vip("198.19.0.1").port(80, 80).build()));
    s = updater.apply(push(service("a").namespace("ns2").vip("198.19.0.1").port(80, 80).build()));
    assertThat(s.findServiceByVip(at("198.19.0.1"), "client").orElseThrow().service().namespace()).isEqualTo("ns1");
    s = updater.apply(push(service("a").namespace("ns3").vip("198.19.0.1").port(80, 80).canonical().build()));
    assertThat(s.findServiceByVip(at("198.19.0.1"), "client").orElseThrow().service().namespace()).isEqualTo("ns3");
  }

  @Test
  void findServiceByVip_namespaceVisibility_hiddenFromOtherNamespaces() {
    ProxyState s = updater.apply(push(service("a").namespace("ns1").vip("198.19.0.1").port(80, 80).namespaceVisible().build()));
    assertThat(s.findServiceByVip(at("198.19.0.1"), "ns1")).isPresent();
    assertThat(s.findServiceByVip(at("198.19.0.1"), "ns2")).isEmpty();
  }

  @Test
  void findServiceByVip_cidr_ranksClientNamespaceThenLongerPrefixThenCanonical() {
    ProxyState s = updater.apply(push(service("wide").namespace("ns1").cidr("198.18.0.0", 15).build(),
        service("narrow").namespace("ns2").cidr("198.19.1.0", 24).build(),
        service("narrowcanon").namespace("ns3").cidr("198.19.1.0", 24).canonical().build()));
    assertThat(s.findServiceByVip(at("198.19.1.7"), "client").orElseThrow().service().name()).isEqualTo("narrowcanon");
    assertThat(s.findServiceByVip(at("198.19.1.7"), "ns1").orElseThrow().service().name()).isEqualTo("wide");
    assertThat(s.findServiceByVip(at("198.18.5.5"), "client").orElseThrow().service().name()).isEqualTo("wide");
    assertThat(s.findServiceByVip(at("2001:db8::1"), "client")).isEmpty();
  }

  @Test
  void findServiceByVip_exactVipBeatsCidr() {
    ProxyState s = updater.apply(push(service("wide").cidr("198.19.0.0", 16).build(),
        service("exact").namespace("other").vip("198.19.0.1").build()));
    assertThat(s.findServiceByVip(at("198.19.0.1"), "default").orElseThrow().service().name()).isEqualTo("exact");
  }

  @Test
  void findServiceByVip_serviceVipOnOtherNetwork_notFound() {
    ProxyState s = updater.apply(push(service("a").vip("net2", "198.19.0.1").build()));
    assertThat(s.findServiceByVip(at("198.19.0.1"), "default")).isEmpty();
    assertThat(s.findServiceByVip(new NetworkIp("net2", ip("198.19.0.1")), "default")).isPresent();
  }
}
