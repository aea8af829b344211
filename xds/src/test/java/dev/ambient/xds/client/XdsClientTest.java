package dev.ambient.xds.client;

import static dev.ambient.xds.client.FakeAdsServer.resource;
import static dev.ambient.xds.client.FakeAdsServer.response;
import static dev.ambient.xds.client.Fixtures.address;
import static dev.ambient.xds.client.Fixtures.ip;
import static dev.ambient.xds.client.Fixtures.policy;
import static dev.ambient.xds.client.Fixtures.service;
import static dev.ambient.xds.client.Fixtures.workload;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.ambient.xds.api.Rpc;
import dev.ambient.xds.api.discovery.DeltaDiscoveryRequest;
import dev.ambient.xds.api.discovery.Resource;
import io.grpc.Metadata;
import io.grpc.Status;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class XdsClientTest {
  private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
  private final RecordingWatcher watcher = new RecordingWatcher();
  private FakeAdsServer server;
  private XdsClient client;

  static final class RecordingWatcher implements XdsWatcher {
    final List<XdsUpdate> updates = new CopyOnWriteArrayList<>();
    final List<Status> errors = new CopyOnWriteArrayList<>();

    @Override
    public void onUpdate(XdsUpdate update) {
      updates.add(update);
    }

    @Override
    public void onAmbientError(Status status) {
      errors.add(status);
    }
  }

  @AfterEach
  void tearDown() {
    if (client != null) {
      client.close();
    }
    if (server != null) {
      server.close();
    }
  }

  private XdsClient.Builder base() throws Exception {
    server = FakeAdsServer.start();
    return XdsClient.builder().channelFactory(server.plaintext()).meterRegistry(registry);
  }

  private void startAndExpectInitial() throws Exception {
    client.watch(watcher);
    client.start();
    assertThat(server.next().getTypeUrl()).isEqualTo(Rpc.TYPE_ADDRESS);
    assertThat(server.next().getTypeUrl()).isEqualTo(Rpc.TYPE_AUTHORIZATION);
  }

  @Test
  void initialSync_wildcardRequestsInOrder_acksAndBecomesReady() throws Exception {
    client = base().node(NodeInfo.fromEnvironment(Map.of("POD_NAME", "zt", "POD_NAMESPACE", "istio-system"))).build();
    client.watch(watcher);
    client.start();
    DeltaDiscoveryRequest a = server.next();
    DeltaDiscoveryRequest z = server.next();
    assertThat(a.getTypeUrl()).isEqualTo(Rpc.TYPE_ADDRESS);
    assertThat(z.getTypeUrl()).isEqualTo(Rpc.TYPE_AUTHORIZATION);
    for (DeltaDiscoveryRequest r : List.of(a, z)) {
      assertThat(r.getNode().getId()).isEqualTo("ztunnel~1.1.1.1~zt.istio-system~istio-system.svc.cluster.local");
      assertThat(r.getResourceNamesSubscribeList()).isEmpty();
      assertThat(r.getResourceNamesUnsubscribeList()).isEmpty();
      assertThat(r.getInitialResourceVersionsMap()).isEmpty();
    }
    server.send(response(Rpc.TYPE_ADDRESS, "n1", List.of(
        resource("Kubernetes//Pod/ns/p1", "v1", address(workload("p1"))),
        resource("ns/svc.ns.svc.cluster.local", "v1", address(service("svc"))))));
    DeltaDiscoveryRequest ack = server.next();
    assertThat(ack.getResponseNonce()).isEqualTo("n1");
    assertThat(ack.hasErrorDetail()).isFalse();
    assertThat(ack.hasNode()).isFalse();
    assertThat(client.synced(Rpc.TYPE_ADDRESS)).succeedsWithin(Duration.ofSeconds(5));
    assertThat(client.synced()).isNotDone();
    server.send(response(Rpc.TYPE_AUTHORIZATION, "n2", List.of(resource("ns/deny", "v1", policy("deny").build()))));
    assertThat(server.next().getResponseNonce()).isEqualTo("n2");
    assertThat(client.synced()).succeedsWithin(Duration.ofSeconds(5));

    await().until(() -> watcher.updates.size() == 2);
    XdsUpdate first = watcher.updates.get(0);
    assertThat(first.addresses()).containsOnlyKeys("Kubernetes//Pod/ns/p1", "ns/svc.ns.svc.cluster.local");
    Workload w = (Workload) first.addresses().get("Kubernetes//Pod/ns/p1");
    assertThat(w.tunnelProtocol()).isEqualTo(Workload.TunnelProtocol.HBONE);
    assertThat(w.services()).containsKey("ns/svc.ns.svc.cluster.local");
    assertThat(watcher.updates.get(1).authorizations().get("ns/deny").action()).isEqualTo(Authorization.Action.DENY);
    assertThat(client.snapshot().addresses()).hasSize(2);
  }

  @Test
  void incrementalUpdateAndRemoval_appliedAsBatches() throws Exception {
    client = base().build();
    startAndExpectInitial();
    server.send(response(Rpc.TYPE_ADDRESS, "n1", List.of(resource("Kubernetes//Pod/ns/p1", "v1", address(workload("p1"))))));
    server.next();
    server.send(response(Rpc.TYPE_ADDRESS, "n2",
        List.of(resource("Kubernetes//Pod/ns/p2", "v1", address(workload("p2").clearAddresses().addAddresses(ip(198, 18, 0, 6))))),
        "Kubernetes//Pod/ns/p1"));
    assertThat(server.next().getResponseNonce()).isEqualTo("n2");
    await().until(() -> watcher.updates.size() == 2);
    XdsUpdate second = watcher.updates.get(1);
    assertThat(second.addresses()).containsOnlyKeys("Kubernetes//Pod/ns/p2");
    assertThat(second.removedAddresses()).containsExactly("Kubernetes//Pod/ns/p1");
    assertThat(client.snapshot().addresses()).containsOnlyKeys("Kubernetes//Pod/ns/p2");
  }

  @Test
  void badResource_nackNamesItWithReason_goodOnesApplied() throws Exception {
    client = base().build();
    startAndExpectInitial();
    server.send(response(Rpc.TYPE_ADDRESS, "n1", List.of(
        resource("good", "v1", address(workload("good"))),
        resource("bad-ip", "v1", address(workload("bad").addAddresses(ip(1, 2, 3, 4, 5)))),
        Resource.newBuilder().setName("empty").setVersion("v1").build())));
    DeltaDiscoveryRequest nack = server.next();
    assertThat(nack.getResponseNonce()).isEqualTo("n1");
    assertThat(nack.getErrorDetail().getCode()).isZero();
    assertThat(nack.getErrorDetail().getMessage())
        .isEqualTo("bad-ip: invalid IP address length 5 (want 4 or 16); empty: missing resource");
    await().until(() -> watcher.updates.size() == 1);
    assertThat(watcher.updates.get(0).addresses()).containsOnlyKeys("good");
    assertThat(client.synced(Rpc.TYPE_ADDRESS)).isNotDone(); // readiness needs an ACK
  }

  @Test
  void unknownType_ackedAndCounted() throws Exception {
    client = base().build();
    startAndExpectInitial();
    server.send(response("type.googleapis.com/some.Other", "n9", List.of()));
    DeltaDiscoveryRequest ack = server.next();
    assertThat(ack.getTypeUrl()).isEqualTo("type.googleapis.com/some.Other");
    assertThat(ack.getResponseNonce()).isEqualTo("n9");
    assertThat(ack.hasErrorDetail()).isFalse();
  }

  @Test
  void reconnect_claimsOnlyAcceptedVersions_stateKept() throws Exception {
    client = base().build();
    startAndExpectInitial();
    server.send(response(Rpc.TYPE_ADDRESS, "n1", List.of(
        resource("Kubernetes//Pod/ns/p1", "v7", address(workload("p1"))),
        resource("bad", "v1", address(workload("bad").setTunnelProtocolValue(2))))));
    server.next();
    server.send(response(Rpc.TYPE_AUTHORIZATION, "n2", List.of(resource("ns/deny", "v3", policy("deny").build()))));
    server.next();
    server.fail(Status.INTERNAL.withDescription("boom"));

    DeltaDiscoveryRequest a = server.next();
    DeltaDiscoveryRequest z = server.next();
    assertThat(server.streams.get()).isEqualTo(2);
    assertThat(a.getTypeUrl()).isEqualTo(Rpc.TYPE_ADDRESS);
    assertThat(a.hasNode()).isTrue();
    assertThat(a.getInitialResourceVersionsMap()).containsExactlyEntriesOf(Map.of("Kubernetes//Pod/ns/p1", "v7"));
    assertThat(z.getInitialResourceVersionsMap()).containsExactlyEntriesOf(Map.of("ns/deny", "v3"));
    assertThat(client.snapshot().addresses()).containsOnlyKeys("Kubernetes//Pod/ns/p1");
    assertThat(client.snapshot().authorizations()).containsOnlyKeys("ns/deny");
    assertThat(watcher.errors).extracting(Status::getCode).containsExactly(Status.Code.INTERNAL);
    assertThat(registry.get("istio_xds_connection_terminations").tag("reason", "Error").counter().count()).isEqualTo(1.0);
  }

  @Test
  void onDemand_subscribesNothingInitially_resolvesThroughAliasAndRemoval() throws Exception {
    client = base().onDemand(true).build();
    client.watch(watcher);
    client.start();
    DeltaDiscoveryRequest a = server.next();
    assertThat(a.getResourceNamesSubscribeList()).containsExactly("*");
    assertThat(a.getResourceNamesUnsubscribeList()).containsExactly("*");
    DeltaDiscoveryRequest z = server.next();
    assertThat(z.getResourceNamesSubscribeList()).isEmpty();
    assertThat(client.synced(Rpc.TYPE_ADDRESS)).isDone();

    var found = client.demand("/198.18.0.5", Duration.ofSeconds(10));
    DeltaDiscoveryRequest sub = server.next();
    assertThat(sub.getResourceNamesSubscribeList()).containsExactly("/198.18.0.5");
    assertThat(sub.hasNode()).isFalse();
    server.send(response(Rpc.TYPE_ADDRESS, "n1",
        List.of(resource("Kubernetes//Pod/ns/p1", "v1", address(workload("p1")), "/198.18.0.5"))));
    Optional<AddressResource> r = found.get(5, TimeUnit.SECONDS);
    assertThat(r).get().extracting(AddressResource::key).isEqualTo("Kubernetes//Pod/ns/p1");
    server.next(); // ack

    // Held now: answered from the cache by alias without asking.
    assertThat(client.demand("/198.18.0.5", Duration.ofSeconds(1)).get(5, TimeUnit.SECONDS)).isPresent();

    var missing = client.demand("/198.18.9.9", Duration.ofSeconds(10));
    assertThat(server.next().getResourceNamesSubscribeList()).containsExactly("/198.18.9.9");
    server.send(response(Rpc.TYPE_ADDRESS, "n2", List.of(), "/198.18.9.9"));
    assertThat(missing.get(5, TimeUnit.SECONDS)).isEmpty();
    server.next();

    server.fail(Status.UNAVAILABLE.withDescription("transport is closing"));
    DeltaDiscoveryRequest again = server.next();
    assertThat(again.getInitialResourceVersionsMap()).containsExactlyInAnyOrderEntriesOf(Map.of(
        "Kubernetes//Pod/ns/p1", "v1", "/198.18.0.5", "", "/198.18.9.9", ""));
    assertThat(registry.get("istio_xds_connection_terminations").tag("reason", "Reconnect").counter().count())
        .isEqualTo(1.0);
  }

  @Test
  void onDemand_noAnswer_timesOutWithClearError() throws Exception {
    FakeScheduler clock = new FakeScheduler();
    client = base().onDemand(true).scheduler(clock).build();
    startAndExpectInitial();
    var f = client.demand("/198.19.1.1", Duration.ofSeconds(3));
    server.next();
    FakeScheduler.Task timeout = clock.next();
    assertThat(timeout.delay()).isEqualTo(Duration.ofSeconds(3));
    assertThat(f).isNotDone();
    timeout.run();
    assertThatThrownBy(() -> f.get(5, TimeUnit.SECONDS))
        .isInstanceOf(ExecutionException.class)
        .cause().isInstanceOf(TimeoutException.class)
        .hasMessageContaining("\"/198.19.1.1\"").hasMessageContaining("3000 ms");
  }

  @Test
  void backoff_streamTerminations_followSpecWithFakeClock() throws Exception {
    FakeScheduler clock = new FakeScheduler();
    client = base().scheduler(clock).build();
    startAndExpectInitial();
    server.fail(Status.INTERNAL);
    assertThat(clock.next().delay()).isEqualTo(Duration.ofMillis(10));
    assertThat(server.requests).isEmpty(); // nothing until the clock runs the task
  }

  @Test
  void backoff_sequence_errorDoubles_reconnectResets_completeIsImmediate() throws Exception {
    FakeScheduler clock = new FakeScheduler();
    client = base().scheduler(clock).build();
    startAndExpectInitial();
    server.fail(Status.INTERNAL);
    expectDelayThenReconnect(clock, 10);
    server.fail(Status.PERMISSION_DENIED);
    expectDelayThenReconnect(clock, 20);
    server.fail(Status.INTERNAL);
    expectDelayThenReconnect(clock, 40);
    server.fail(Status.UNAVAILABLE.withDescription("transport is closing"));
    expectDelayThenReconnect(clock, 10);
    server.fail(Status.INTERNAL);
    expectDelayThenReconnect(clock, 10); // reset by the Reconnect
    server.complete();
    server.next();
    server.next(); // reconnected without the clock
    assertThat(clock.tasks).isEmpty();
    assertThat(registry.get("istio_xds_connection_terminations").tag("reason", "Error").counter().count()).isEqualTo(4);
    assertThat(registry.get("istio_xds_connection_terminations").tag("reason", "Complete").counter().count()).isEqualTo(1);
  }

  private void expectDelayThenReconnect(FakeScheduler clock, long millis) throws Exception {
    FakeScheduler.Task t = clock.next();
    assertThat(t.delay()).isEqualTo(Duration.ofMillis(millis));
    t.run();
    server.next();
    server.next();
  }

  @Test
  void backoff_connectionErrors_doubleToCap() throws Exception {
    int deadPort;
    try (var s = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      deadPort = s.getLocalPort();
    }
    FakeScheduler clock = new FakeScheduler();
    client = XdsClient.builder().channelFactory(XdsChannelFactory.plaintext("127.0.0.1", deadPort))
        .meterRegistry(registry).scheduler(clock).build();
    client.start();
    long[] expected = {10, 20, 40, 80, 160, 320, 640, 1280, 2560, 5120, 10240, 15000, 15000};
    for (long ms : expected) {
      FakeScheduler.Task t = clock.next();
      assertThat(t.delay()).isEqualTo(Duration.ofMillis(ms));
      t.run();
    }
    assertThat(registry.get("istio_xds_connection_terminations").tag("reason", "ConnectionError").counter().count())
        .isGreaterThanOrEqualTo(expected.length);
  }

  @Test
  void headers_bearerTokenReReadPerStream_clusterId_extraHeaders(@TempDir Path dir) throws Exception {
    Path token = dir.resolve("istio-token");
    Files.writeString(token, "t1\n");
    server = FakeAdsServer.start();
    client = XdsClient.builder()
        .environment(Map.of("AUTH_TOKEN", token.toString(), "ISTIO_META_CLUSTER_ID", "c1", "XDS_HEADER_X_TENANT", "blue"))
        .channelFactory(server.plaintext())
        .meterRegistry(registry)
        .build();
    client.start();
    server.next();
    Metadata first = server.headers.poll(5, TimeUnit.SECONDS);
    assertThat(first.get(Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER))).isEqualTo("Bearer t1");
    assertThat(first.get(Metadata.Key.of("clusterid", Metadata.ASCII_STRING_MARSHALLER))).isEqualTo("c1");
    assertThat(first.get(Metadata.Key.of("x_tenant", Metadata.ASCII_STRING_MARSHALLER))).isEqualTo("blue");
    server.next();
    Files.writeString(token, "t2\n");
    server.fail(Status.UNKNOWN);
    server.next();
    Metadata second = server.headers.poll(5, TimeUnit.SECONDS);
    assertThat(second.get(Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER))).isEqualTo("Bearer t2");
  }

  @Test
  void metrics_countMessagesAndPayloadBytesPerUrl() throws Exception {
    client = base().build();
    startAndExpectInitial();
    Resource r1 = resource("Kubernetes//Pod/ns/p1", "v1", address(workload("p1")));
    Resource r2 = resource("ns/svc.ns.svc.cluster.local", "v1", address(service("svc")));
    server.send(response(Rpc.TYPE_ADDRESS, "n1", List.of(r1, r2)));
    server.next();
    server.send(response(Rpc.TYPE_ADDRESS, "n2", List.of(), "Kubernetes//Pod/ns/p1"));
    server.next();
    long bytes = r1.getResource().getValue().size() + r2.getResource().getValue().size();
    String scrape = registry.scrape();
    assertThat(scrape).contains("istio_xds_message_total{url=\"" + Rpc.TYPE_ADDRESS + "\"} 2.0");
    assertThat(scrape).contains("istio_xds_message_bytes_total{url=\"" + Rpc.TYPE_ADDRESS + "\"} " + (double) bytes);
    server.fail(Status.INTERNAL);
    server.next();
    assertThat(registry.scrape()).contains("istio_xds_connection_terminations_total{reason=\"Error\"} 1.0");
  }
}
