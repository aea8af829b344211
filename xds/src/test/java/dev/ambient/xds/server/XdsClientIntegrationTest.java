package dev.ambient.xds.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.ambient.xds.client.AddressResource;
import dev.ambient.xds.client.XdsChannelFactory;
import dev.ambient.xds.client.XdsClient;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The real {@link XdsClient} against the control plane, over TLS verified with root-cert.pem. */
class XdsClientIntegrationTest {
  @TempDir Path config;
  @TempDir Path state;
  private ControlPlane cp;
  private XdsClient client;
  private FakeServingCa ca;

  /** Starts a control plane; a restart keeps the CA (its root is kept in the state dir). */
  private ControlPlane start(int port) {
    cp = ControlPlane.builder().configDir(config).configSource(new FakeConfigSource(config))
        .ca(ca == null ? ca = new FakeServingCa(state) : ca).listen(new InetSocketAddress(InetAddress.getLoopbackAddress(), port))
        .build().start();
    return cp;
  }

  private XdsClient connect(boolean onDemand) {
    client = XdsClient.builder()
        .channelFactory(XdsChannelFactory.tls("https://127.0.0.1:" + cp.address().getPort(),
            state.resolve("root-cert.pem").toString(), ControlPlane.ISTIOD_NAME))
        .onDemand(onDemand)
        .build();
    client.start();
    return client;
  }

  @AfterEach
  void stop() {
    if (client != null) {
      client.close();
    }
    if (cp != null) {
      cp.close();
    }
  }

  @Test
  void realClient_syncsAndFollowsFileChanges() throws Exception {
    Files.writeString(config.resolve("a.yaml"), "workload c1//Pod/ns/a 198.18.0.10\npolicy ns/p\n");
    start(0);
    connect(false).synced().get(10, TimeUnit.SECONDS);
    assertThat(client.snapshot().addresses()).containsOnlyKeys("c1//Pod/ns/a");
    assertThat(client.snapshot().authorizations()).containsOnlyKeys("ns/p");

    Files.writeString(config.resolve("b.yaml"), "workload c1//Pod/ns/b 198.18.0.11\n");
    await().atMost(Duration.ofSeconds(10))
        .until(() -> client.snapshot().addresses().keySet().equals(java.util.Set.of("c1//Pod/ns/a", "c1//Pod/ns/b")));
    Files.writeString(config.resolve("a.yaml"), "policy ns/p\n");
    await().atMost(Duration.ofSeconds(10))
        .until(() -> client.snapshot().addresses().keySet().equals(java.util.Set.of("c1//Pod/ns/b")));
  }

  @Test
  void realClient_nacksAnInvalidResource_andKeepsTheRest() throws Exception {
    Files.writeString(config.resolve("a.yaml"), "workload c1//Pod/ns/a 198.18.0.10\ninvalid c1//Pod/ns/bad\n");
    start(0);
    connect(false);
    await().atMost(Duration.ofSeconds(10)).until(() -> cp.ads().metrics().nacks() == 1);
    assertThat(client.snapshot().addresses()).containsOnlyKeys("c1//Pod/ns/a");
  }

  @Test
  void realClient_onDemandLookupByIp_resolvedThroughAliases() throws Exception {
    Files.writeString(config.resolve("a.yaml"), "workload c1//Pod/ns/a 198.18.0.10\nworkload c1//Pod/ns/b 198.18.0.11\n");
    start(0);
    connect(true).synced().get(10, TimeUnit.SECONDS);
    assertThat(client.snapshot().addresses()).isEmpty();
    Optional<AddressResource> found = client.demand("/198.18.0.11", Duration.ofSeconds(10)).get(15, TimeUnit.SECONDS);
    assertThat(found).map(AddressResource::key).contains("c1//Pod/ns/b");
    assertThat(client.snapshot().addresses()).containsOnlyKeys("c1//Pod/ns/b");
    Optional<AddressResource> missing = client.demand("/198.18.0.99", Duration.ofSeconds(10)).get(15, TimeUnit.SECONDS);
    assertThat(missing).isEmpty();
  }

  @Test
  void controlPlaneRestart_clientKeepsItsStateAndReceivesOnlyChanges() throws Exception {
    Files.writeString(config.resolve("a.yaml"), "workload c1//Pod/ns/a 198.18.0.10\nworkload c1//Pod/ns/b 198.18.0.11\n");
    start(0);
    int port = cp.address().getPort();
    connect(false).synced().get(10, TimeUnit.SECONDS);
    java.util.List<dev.ambient.xds.client.XdsUpdate> updates = new java.util.concurrent.CopyOnWriteArrayList<>();
    client.watch(updates::add);
    long responsesBefore = cp.ads().metrics().responses();
    assertThat(responsesBefore).isEqualTo(2);
    cp.close();
    // While the control plane is down the client keeps serving what it has.
    assertThat(client.snapshot().addresses()).containsOnlyKeys("c1//Pod/ns/a", "c1//Pod/ns/b");

    Files.writeString(config.resolve("a.yaml"), "workload c1//Pod/ns/a 198.18.0.10\nworkload c1//Pod/ns/c 198.18.0.12\n");
    start(port);
    await().atMost(Duration.ofSeconds(20))
        .until(() -> client.snapshot().addresses().keySet().equals(java.util.Set.of("c1//Pod/ns/a", "c1//Pod/ns/c")));
    // The reconnect claimed a and b: only c was sent, and b removed; a was not sent again.
    var afterRestart = updates.subList(1, updates.size()).stream().filter(u -> !u.isEmpty()).toList();
    assertThat(afterRestart).allSatisfy(u -> assertThat(u.addresses()).doesNotContainKey("c1//Pod/ns/a"));
    assertThat(afterRestart).anySatisfy(u -> assertThat(u.addresses()).containsOnlyKeys("c1//Pod/ns/c"));
    assertThat(afterRestart).anySatisfy(u -> assertThat(u.removedAddresses()).containsExactly("c1//Pod/ns/b"));
  }
}
