package dev.ambient.xds.server;

import static dev.ambient.xds.api.Rpc.TYPE_ADDRESS;
import static dev.ambient.xds.api.Rpc.TYPE_AUTHORIZATION;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.google.protobuf.Any;
import dev.ambient.xds.api.discovery.DeltaDiscoveryResponse;
import dev.ambient.xds.api.discovery.Resource;
import dev.ambient.xds.api.security.Authorization;
import dev.ambient.xds.api.workload.Address;
import dev.ambient.xds.api.workload.Service;
import dev.ambient.xds.api.workload.Workload;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.InsecureServerCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class DeltaAdsServerTest {
  private final ResourceStore store = new ResourceStore();
  private final DeltaAdsServer ads = DeltaAdsServer.of(store);
  private final Map<String, StoredResource> addresses = new LinkedHashMap<>();
  private Server server;
  private ManagedChannel channel;

  @BeforeEach
  void start() throws Exception {
    server = Grpc.newServerBuilderForPort(0, InsecureServerCredentials.create())
        .addService(ads.bindService()).build().start();
    channel = Grpc.newChannelBuilderForAddress("127.0.0.1", server.getPort(), InsecureChannelCredentials.create())
        .build();
  }

  @AfterEach
  void stop() throws Exception {
    channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
  }

  static StoredResource workload(String uid, String ip, String version) {
    Address a = Address.newBuilder().setWorkload(Workload.newBuilder().setUid(uid).setName(uid + "-" + version)).build();
    return StoredResource.of(uid, Any.pack(a, "type.googleapis.com"), List.of("/" + ip));
  }

  static StoredResource service(String ns, String host, String vip) {
    Address a = Address.newBuilder().setService(Service.newBuilder().setNamespace(ns).setHostname(host)).build();
    return StoredResource.of(ns + "/" + host, Any.pack(a, "type.googleapis.com"), List.of("/" + vip));
  }

  static StoredResource policy(String name) {
    return StoredResource.of(name, Any.pack(Authorization.newBuilder().setName(name).build(), "type.googleapis.com"),
        List.of());
  }

  private void put(StoredResource... rs) {
    for (StoredResource r : rs) {
      addresses.put(r.name(), r);
    }
    store.publish(Map.of(TYPE_ADDRESS, new LinkedHashMap<>(addresses)));
  }

  private void remove(String name) {
    addresses.remove(name);
    store.publish(Map.of(TYPE_ADDRESS, new LinkedHashMap<>(addresses)));
  }

  static Map<String, String> versions(DeltaDiscoveryResponse r) {
    return r.getResourcesList().stream().collect(Collectors.toMap(Resource::getName, Resource::getVersion));
  }

  @Test
  void wildcard_initialRequest_sendsEverythingWithVersionsAndAliases() throws Exception {
    put(workload("c1//Pod/ns/a", "198.18.0.10", "1"), service("ns", "svc.ns.svc.cluster.local", "198.19.0.1"));
    store.publish(Map.of(TYPE_AUTHORIZATION, Map.of("ns/p", policy("ns/p"))));
    try (AdsTestClient client = new AdsTestClient(channel)) {
      client.wildcard(TYPE_ADDRESS);
      client.wildcard(TYPE_AUTHORIZATION);
      DeltaDiscoveryResponse first = client.nextAcked();
      DeltaDiscoveryResponse second = client.nextAcked();
      assertThat(first.getTypeUrl()).isEqualTo(TYPE_ADDRESS);
      assertThat(first.getResourcesList()).extracting(Resource::getName)
          .containsExactlyInAnyOrder("c1//Pod/ns/a", "ns/svc.ns.svc.cluster.local");
      Resource w = first.getResourcesList().stream().filter(r -> r.getName().equals("c1//Pod/ns/a")).findFirst().orElseThrow();
      assertThat(w.getAliasesList()).containsExactly("/198.18.0.10");
      assertThat(w.getVersion()).isEqualTo(addresses.get("c1//Pod/ns/a").version());
      assertThat(w.getResource().unpack(Address.class).getWorkload().getUid()).isEqualTo("c1//Pod/ns/a");
      assertThat(first.getRemovedResourcesList()).isEmpty();
      assertThat(second.getTypeUrl()).isEqualTo(TYPE_AUTHORIZATION);
      assertThat(second.getResourcesList()).extracting(Resource::getName).containsExactly("ns/p");
      assertThat(first.getNonce()).isNotEmpty().isNotEqualTo(second.getNonce());
      await().until(() -> ads.metrics().acks() == 2);
    }
  }

  @Test
  void wildcard_emptyStore_isStillAnswered() throws Exception {
    try (AdsTestClient client = new AdsTestClient(channel)) {
      client.wildcard(TYPE_AUTHORIZATION);
      DeltaDiscoveryResponse r = client.next();
      assertThat(r.getTypeUrl()).isEqualTo(TYPE_AUTHORIZATION);
      assertThat(r.getResourcesCount()).isZero();
      assertThat(r.getNonce()).isNotEmpty();
    }
  }

  @Test
  void storeChange_pushesOnlyChangedResources_thenRemovals() throws Exception {
    put(workload("c1//Pod/ns/a", "198.18.0.10", "1"), workload("c1//Pod/ns/b", "198.18.0.11", "1"));
    try (AdsTestClient client = new AdsTestClient(channel)) {
      client.wildcard(TYPE_ADDRESS);
      assertThat(client.nextAcked().getResourcesCount()).isEqualTo(2);

      put(workload("c1//Pod/ns/b", "198.18.0.11", "2"), workload("c1//Pod/ns/c", "198.18.0.12", "1"));
      DeltaDiscoveryResponse update = client.nextAcked();
      assertThat(update.getResourcesList()).extracting(Resource::getName)
          .containsExactlyInAnyOrder("c1//Pod/ns/b", "c1//Pod/ns/c");
      assertThat(update.getRemovedResourcesList()).isEmpty();

      remove("c1//Pod/ns/a");
      DeltaDiscoveryResponse removal = client.nextAcked();
      assertThat(removal.getResourcesList()).isEmpty();
      assertThat(removal.getRemovedResourcesList()).containsExactly("c1//Pod/ns/a");
      assertThat(Long.parseLong(removal.getSystemVersionInfo())).isGreaterThan(Long.parseLong(update.getSystemVersionInfo()));
    }
  }

  @Test
  void nack_isCounted_andRejectedVersionIsNotResentUntilItChanges() throws Exception {
    put(workload("c1//Pod/ns/a", "198.18.0.10", "1"));
    try (AdsTestClient client = new AdsTestClient(channel)) {
      client.wildcard(TYPE_ADDRESS);
      client.nextAcked();
      put(workload("c1//Pod/ns/bad", "198.18.0.66", "1"));
      DeltaDiscoveryResponse bad = client.next();
      assertThat(bad.getResourcesList()).extracting(Resource::getName).containsExactly("c1//Pod/ns/bad");
      client.nack(bad, "c1//Pod/ns/bad: invalid address length");
      await().until(() -> ads.metrics().nacks() == 1);

      // An unrelated change: the push carries only it, not the rejected version again.
      put(workload("c1//Pod/ns/a", "198.18.0.10", "2"));
      DeltaDiscoveryResponse other = client.nextAcked();
      assertThat(other.getResourcesList()).extracting(Resource::getName).containsExactly("c1//Pod/ns/a");

      // The rejected resource changes: now it is sent.
      put(workload("c1//Pod/ns/bad", "198.18.0.66", "fixed"));
      DeltaDiscoveryResponse fixed = client.nextAcked();
      assertThat(fixed.getResourcesList()).extracting(Resource::getName).containsExactly("c1//Pod/ns/bad");
    }
  }

  @Test
  void reconnect_withInitialResourceVersions_getsOnlyChangesAndRemovedNames() throws Exception {
    put(workload("c1//Pod/ns/a", "198.18.0.10", "1"), workload("c1//Pod/ns/b", "198.18.0.11", "1"),
        workload("c1//Pod/ns/c", "198.18.0.12", "1"));
    Map<String, String> held;
    try (AdsTestClient client = new AdsTestClient(channel)) {
      client.wildcard(TYPE_ADDRESS);
      held = new HashMap<>(versions(client.nextAcked()));
    }
    await().until(() -> ads.openStreams() == 0);
    // While disconnected: b changes, c goes away, d appears.
    addresses.remove("c1//Pod/ns/c");
    put(workload("c1//Pod/ns/b", "198.18.0.11", "2"), workload("c1//Pod/ns/d", "198.18.0.13", "1"));
    held.put("c1//Pod/ns/gone-long-ago", "abc");
    try (AdsTestClient client = new AdsTestClient(channel)) {
      client.wildcard(TYPE_ADDRESS, held);
      DeltaDiscoveryResponse r = client.nextAcked();
      assertThat(r.getResourcesList()).extracting(Resource::getName)
          .containsExactlyInAnyOrder("c1//Pod/ns/b", "c1//Pod/ns/d");
      assertThat(r.getRemovedResourcesList()).containsExactlyInAnyOrder("c1//Pod/ns/c", "c1//Pod/ns/gone-long-ago");
    }
  }

  @Test
  void onDemand_subscriptionByIp_resolvedThroughAliases() throws Exception {
    put(workload("c1//Pod/ns/a", "198.18.0.10", "1"), service("ns", "svc.ns.svc.cluster.local", "198.19.0.1"));
    try (AdsTestClient client = new AdsTestClient(channel)) {
      client.onDemand(TYPE_ADDRESS);
      DeltaDiscoveryResponse initial = client.nextAcked();
      assertThat(initial.getResourcesCount()).isZero();

      client.subscribe(TYPE_ADDRESS, "/198.19.0.1");
      DeltaDiscoveryResponse byVip = client.nextAcked();
      assertThat(byVip.getResourcesList()).extracting(Resource::getName).containsExactly("ns/svc.ns.svc.cluster.local");
      assertThat(byVip.getResources(0).getAliasesList()).containsExactly("/198.19.0.1");
      assertThat(byVip.getRemovedResourcesList()).isEmpty();

      client.subscribe(TYPE_ADDRESS, "/198.18.0.99");
      DeltaDiscoveryResponse unknown = client.nextAcked();
      assertThat(unknown.getResourcesList()).isEmpty();
      assertThat(unknown.getRemovedResourcesList()).containsExactly("/198.18.0.99");

      // Only what was subscribed is pushed: a change to the unsubscribed workload sends nothing,
      // so the next response is the one about the subscribed service.
      put(workload("c1//Pod/ns/a", "198.18.0.10", "2"));
      put(service("ns", "svc.ns.svc.cluster.local", "198.19.0.1"),
          StoredResource.of("ns/svc.ns.svc.cluster.local",
              Any.pack(Address.newBuilder().setService(Service.newBuilder().setName("v2")).build(), "type.googleapis.com"),
              List.of("/198.19.0.1")));
      DeltaDiscoveryResponse push = client.nextAcked();
      assertThat(push.getResourcesList()).extracting(Resource::getName).containsExactly("ns/svc.ns.svc.cluster.local");

      // The subscribed IP appears later: it is pushed under its primary name.
      put(workload("c1//Pod/ns/z", "198.18.0.99", "1"));
      DeltaDiscoveryResponse appeared = client.nextAcked();
      assertThat(appeared.getResourcesList()).extracting(Resource::getName).containsExactly("c1//Pod/ns/z");
      assertThat(appeared.getResources(0).getAliasesList()).containsExactly("/198.18.0.99");
    }
  }

  @Test
  void onDemand_unsubscribed_isNoLongerPushed_andResubscribeIsAnsweredAgain() throws Exception {
    put(workload("c1//Pod/ns/a", "198.18.0.10", "1"), workload("c1//Pod/ns/b", "198.18.0.11", "1"));
    try (AdsTestClient client = new AdsTestClient(channel)) {
      client.onDemand(TYPE_ADDRESS);
      client.nextAcked();
      client.subscribe(TYPE_ADDRESS, "/198.18.0.10", "c1//Pod/ns/b");
      assertThat(client.nextAcked().getResourcesList()).extracting(Resource::getName)
          .containsExactlyInAnyOrder("c1//Pod/ns/a", "c1//Pod/ns/b");
      client.unsubscribe(TYPE_ADDRESS, "/198.18.0.10");
      // Requests are handled in order: once this one is answered, the unsubscribe has been applied.
      client.subscribe(TYPE_ADDRESS, "/198.18.0.250");
      assertThat(client.nextAcked().getRemovedResourcesList()).containsExactly("/198.18.0.250");

      // a changes (not pushed: unsubscribed), then b changes (pushed): the next response is b alone.
      put(workload("c1//Pod/ns/a", "198.18.0.10", "2"));
      put(workload("c1//Pod/ns/b", "198.18.0.11", "2"));
      DeltaDiscoveryResponse push = client.nextAcked();
      assertThat(push.getResourcesList()).extracting(Resource::getName).containsExactly("c1//Pod/ns/b");
      assertThat(push.getRemovedResourcesList()).isEmpty();

      // Asking again for something already sent is answered (the client asks because it lacks it).
      client.subscribe(TYPE_ADDRESS, "c1//Pod/ns/b");
      assertThat(client.nextAcked().getResourcesList()).extracting(Resource::getName).containsExactly("c1//Pod/ns/b");
    }
  }

  @Test
  void onDemand_reconnect_claimedNamesAreSubscriptions() throws Exception {
    StoredResource svc = service("ns", "svc.ns.svc.cluster.local", "198.19.0.1");
    put(workload("c1//Pod/ns/a", "198.18.0.10", "1"), svc);
    try (AdsTestClient client = new AdsTestClient(channel)) {
      client.send(dev.ambient.xds.api.discovery.DeltaDiscoveryRequest.newBuilder().setNode(AdsTestClient.NODE)
          .setTypeUrl(TYPE_ADDRESS).addResourceNamesSubscribe("*").addResourceNamesUnsubscribe("*")
          .putInitialResourceVersions(svc.name(), svc.version())
          .putInitialResourceVersions("c1//Pod/ns/a", "")
          .putInitialResourceVersions("c1//Pod/ns/gone", "old").build());
      DeltaDiscoveryResponse r = client.nextAcked();
      assertThat(r.getResourcesList()).extracting(Resource::getName).containsExactly("c1//Pod/ns/a");
      assertThat(r.getRemovedResourcesList()).containsExactly("c1//Pod/ns/gone");
    }
  }

  @Test
  void clientDisconnect_streamIsForgotten_andPublishingContinues() throws Exception {
    put(workload("c1//Pod/ns/a", "198.18.0.10", "1"));
    AdsTestClient gone = new AdsTestClient(channel);
    gone.wildcard(TYPE_ADDRESS);
    gone.next();
    try (AdsTestClient stays = new AdsTestClient(channel)) {
      stays.wildcard(TYPE_ADDRESS);
      stays.nextAcked();
      await().until(() -> ads.openStreams() == 2);
      gone.close();
      await().atMost(Duration.ofSeconds(10)).until(() -> ads.openStreams() == 1);
      put(workload("c1//Pod/ns/b", "198.18.0.11", "1"));
      assertThat(stays.nextAcked().getResourcesList()).extracting(Resource::getName).containsExactly("c1//Pod/ns/b");
    }
  }
}
