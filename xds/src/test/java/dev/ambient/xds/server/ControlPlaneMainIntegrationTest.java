package dev.ambient.xds.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.ambient.xds.client.AddressResource;
import dev.ambient.xds.client.XdsChannelFactory;
import dev.ambient.xds.client.XdsClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * End to end: the command's options, the real config loader on YAML files, the real CA, and the real
 * xDS client over TLS verified with {@code <state-dir>/root-cert.pem}.
 */
class ControlPlaneMainIntegrationTest {
  static final String WORKLOADS = """
      workloads:
      - uid: c1//Pod/ns/a
        name: a
        namespace: ns
        workloadIps: ["198.18.0.10"]
        labels: {app: a}
      services:
      - namespace: ns
        hostname: s.ns.svc.cluster.local
        vips: ["/198.19.0.1"]
      """;
  static final String POLICY = """
      apiVersion: security.istio.io/v1
      kind: AuthorizationPolicy
      metadata: {name: only-a, namespace: ns}
      spec:
        selector: {matchLabels: {app: a}}
        rules: [{from: [{source: {principals: ["cluster.local/ns/ns/sa/client"]}}]}]
      """;

  @TempDir Path config;
  @TempDir Path state;
  private ControlPlane cp;
  private XdsClient client;

  private ControlPlane start() {
    ControlPlaneMain main = new ControlPlaneMain();
    new CommandLine(main).parseArgs("--config", config.toString(), "--state-dir", state.toString(),
        "--listen", "127.0.0.1:0");
    cp = main.start();
    return cp;
  }

  private XdsClient connect(boolean onDemand) throws Exception {
    client = XdsClient.builder()
        .channelFactory(XdsChannelFactory.tls("https://127.0.0.1:" + cp.address().getPort(),
            state.resolve("root-cert.pem").toString(), null))
        .onDemand(onDemand)
        .build();
    client.start();
    client.synced().get(10, TimeUnit.SECONDS);
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
  void yamlFiles_areServed_andAChangeIsPushed() throws Exception {
    Files.writeString(config.resolve("workloads.yaml"), WORKLOADS);
    Files.writeString(config.resolve("policy.yaml"), POLICY);
    start();
    connect(false);
    assertThat(client.snapshot().addresses()).containsOnlyKeys("c1//Pod/ns/a", "ns/s.ns.svc.cluster.local");
    assertThat(client.snapshot().authorizations()).containsOnlyKeys("ns/only-a");

    Files.writeString(config.resolve("more.yaml"), """
        workloads:
        - uid: c1//Pod/ns/b
          name: b
          namespace: ns
          workloadIps: ["198.18.0.11"]
        """);
    await().atMost(Duration.ofSeconds(10)).until(() -> client.snapshot().addresses().containsKey("c1//Pod/ns/b"));
    Files.delete(config.resolve("policy.yaml"));
    await().atMost(Duration.ofSeconds(10)).until(() -> client.snapshot().authorizations().isEmpty());
  }

  @Test
  void badFile_isReportedWithFileAndLine_andTheLastGoodConfigStays() throws Exception {
    Path file = config.resolve("workloads.yaml");
    Files.writeString(file, WORKLOADS);
    start();
    connect(false);
    Files.writeString(file, WORKLOADS.replace("workloadIps: [\"198.18.0.10\"]", "workloadIps: [\"not-an-ip\"]"));
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(cp.problems()).singleElement()
        .satisfies(p -> {
          assertThat(p.file()).isEqualTo(file);
          assertThat(p.line()).isEqualTo(5);
          assertThat(p.reason()).isNotBlank();
        }));
    assertThat(client.snapshot().addresses()).containsOnlyKeys("c1//Pod/ns/a", "ns/s.ns.svc.cluster.local");
    assertThat(cp.store().snapshot(dev.ambient.xds.api.Rpc.TYPE_ADDRESS).resources())
        .containsOnlyKeys("c1//Pod/ns/a", "ns/s.ns.svc.cluster.local");

    Files.writeString(file, WORKLOADS.replace("198.18.0.10", "198.18.0.20"));
    await().atMost(Duration.ofSeconds(10)).until(() -> cp.problems().isEmpty());
  }

  @Test
  void onDemand_lookupByServiceVip_resolvedThroughAliases() throws Exception {
    Files.writeString(config.resolve("workloads.yaml"), WORKLOADS);
    start();
    connect(true);
    Optional<AddressResource> svc = client.demand("/198.19.0.1", Duration.ofSeconds(10)).get(15, TimeUnit.SECONDS);
    assertThat(svc).map(AddressResource::key).contains("ns/s.ns.svc.cluster.local");
    Optional<AddressResource> pod = client.demand("/198.18.0.10", Duration.ofSeconds(10)).get(15, TimeUnit.SECONDS);
    assertThat(pod).map(AddressResource::key).contains("c1//Pod/ns/a");
    assertThat(client.snapshot().addresses().keySet()).isEqualTo(Set.of("ns/s.ns.svc.cluster.local", "c1//Pod/ns/a"));
  }
}
