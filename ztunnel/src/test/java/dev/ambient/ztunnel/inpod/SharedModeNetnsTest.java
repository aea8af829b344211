package dev.ambient.ztunnel.inpod;

import static dev.ambient.ztunnel.inpod.ZdsMessagesTest.del;
import static dev.ambient.ztunnel.inpod.ZdsMessagesTest.snapshot;
import static org.assertj.core.api.Assertions.assertThat;

import dev.ambient.net.LinuxSockets.NetNamespace;
import dev.ambient.net.SeqPacketSocket;
import dev.ambient.testing.LeakDetectionExtension;
import dev.ambient.testing.netns.NetnsTopology;
import dev.ambient.xds.api.zds.AddWorkload;
import dev.ambient.xds.api.zds.Version;
import dev.ambient.xds.api.zds.WorkloadInfo;
import dev.ambient.xds.api.zds.WorkloadRequest;
import dev.ambient.xds.api.zds.WorkloadResponse;
import dev.ambient.xds.api.zds.ZdsHello;
import dev.ambient.ztunnel.ZtunnelConfig;
import dev.ambient.ztunnel.runtime.Ztunnel;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Shared (in-pod) mode end to end (spec §7): two pod network namespaces on a bridge (198.18.48.10
 * and .11), an in-process ztunnel with PROXY_MODE=shared, a local config and the fake CA, and a fake
 * node agent in this test that hands over both pods' netns descriptors over ZDS. Pod A's outbound
 * TCP to pod B is redirected to 15001 by an iptables rule in pod A (skipping the 0x539 mark, as the
 * istio-cni rules do); it must reach pod B's echo server over HBONE through pod B's 15008 listener.
 * Deleting pod A removes its listeners; draining ztunnel removes pod B's. Needs root; never skips.
 */
@Tag("netns")
@ExtendWith(LeakDetectionExtension.class)
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class SharedModeNetnsTest {
  private static final int SUBNET = 48;
  private static final int ECHO_PORT = 8080;
  private static final Duration WAIT = Duration.ofSeconds(20);

  @TempDir Path dir;
  private final List<AutoCloseable> closeables = new ArrayList<>();

  @BeforeAll
  static void needsRoot() throws IOException, InterruptedException {
    Process p = new ProcessBuilder("id", "-u").start();
    String uid = new String(p.getInputStream().readAllBytes()).strip();
    p.waitFor();
    assertThat(uid).as("netns tests need root (exclude with -DexcludedGroups=netns)").isEqualTo("0");
  }

  @AfterEach
  void cleanUp() throws Exception {
    for (int i = closeables.size() - 1; i >= 0; i--) {
      closeables.get(i).close();
    }
  }

  private <T extends AutoCloseable> T closeLater(T c) {
    closeables.add(c);
    return c;
  }

  private static String localConfig(String podA, String podB) {
    return """
        workloads:
        - uid: cluster1//v1/Pod/ns/pod-a
          name: pod-a
          namespace: ns
          serviceAccount: sa-a
          workloadIps: ["%s"]
          protocol: HBONE
          node: node1
        - uid: cluster1//v1/Pod/ns/pod-b
          name: pod-b
          namespace: ns
          serviceAccount: sa-b
          workloadIps: ["%s"]
          protocol: HBONE
          node: node1
        """.formatted(podA, podB);
  }

  @Test
  void podToPodTrafficGoesOverHbone_betweenPerPodProxies_andDeletedPodsLoseTheirListeners() throws Exception {
    NetnsTopology net = closeLater(NetnsTopology.create(NetnsTopology.uniquePrefix("zsh"), 2, SUBNET));
    String podA = net.nodeAddress(0);
    String podB = net.nodeAddress(1);
    NetNamespace nsA = closeLater(NetNamespace.open(net.netnsPath(0)));
    NetNamespace nsB = closeLater(NetNamespace.open(net.netnsPath(1)));

    // The app in pod B: an echo server that records who connected.
    List<String> echoPeers = new CopyOnWriteArrayList<>();
    ServerSocket echo = closeLater(nsB.run(() -> {
      ServerSocket s = new ServerSocket();
      s.bind(new InetSocketAddress(ECHO_PORT));
      return s;
    }));
    Thread.ofPlatform().daemon().name("echo-b").start(() -> serveEcho(echo, echoPeers));

    // The istio-cni capture in pod A, reduced to what this test needs.
    net.exec(0, "iptables", "-t", "nat", "-A", "OUTPUT", "-p", "tcp", "-d", podB, "-m", "mark", "!", "--mark",
        "0x539", "-j", "REDIRECT", "--to-ports", "15001");

    Path uds = dir.resolve("ztunnel.sock");
    SeqPacketSocket agent = closeLater(SeqPacketSocket.listen(uds, 4));
    agent.setTimeouts(WAIT, WAIT);
    Map<String, String> env = Map.of(
        "PROXY_MODE", "shared",
        "FAKE_CA", "true",
        "AMBIENT_FAKE_CA_DIR", dir.resolve("ca").toString(),
        "LOCAL_XDS", localConfig(podA, podB),
        "INPOD_UDS", uds.toString(),
        "NODE_NAME", "node1",
        "ENABLE_ORIG_SRC", "false");
    ZtunnelConfig config = ZtunnelConfig.fromEnvironment(env);
    InetSocketAddress any = new InetSocketAddress(InetAddress.getLoopbackAddress(), 0);
    Ztunnel ztunnel = Ztunnel.start(config, env, new Ztunnel.Binds(any, any, any, Optional.empty(), 0, any, any));
    closeables.add(ztunnel::close);
    assertThat(ztunnel.started()).succeedsWithin(WAIT);
    assertThat(ztunnel.readiness().pendingTasks()).contains(WorkloadManager.READINESS_TASK);

    // The node agent: hello, snapshot with both pods, SnapshotSent.
    SeqPacketSocket zds = closeLater(agent.accept());
    zds.setTimeouts(WAIT, WAIT);
    assertThat(ZdsHello.parseFrom(zds.receive(1024).orElseThrow().data()).getVersion()).isEqualTo(Version.V1);
    assertThat(request(zds, addPod("uid-a", "pod-a", "sa-a"), net.netnsPath(0))).isEmpty();
    assertThat(request(zds, addPod("uid-b", "pod-b", "sa-b"), net.netnsPath(1))).isEmpty();
    assertThat(request(zds, snapshot(), null)).isEmpty();
    eventually("ready", () -> ztunnel.readiness().ready());
    for (int node = 0; node < 2; node++) {
      String listening = net.exec(node, "ss", "-ltnH");
      assertThat(listening).as("pod %d listeners", node).contains(":15001", ":15006", ":15008");
    }
    assertThat(ztunnel.workloadManager().orElseThrow().workloadState())
        .containsOnlyKeys("uid-a", "uid-b")
        .allSatisfy((uid, s) -> assertThat(s.state()).isEqualTo("Up"));

    // Pod A's app talks to pod B's app: captured to pod A's 15001, HBONE to pod B's 15008, then the app.
    try (Socket client = nsA.run(() -> {
      Socket s = new Socket();
      s.connect(new InetSocketAddress(podB, ECHO_PORT), 5000);
      return s;
    })) {
      client.setSoTimeout(10_000);
      OutputStream out = client.getOutputStream();
      out.write("ping over hbone\n".getBytes(StandardCharsets.UTF_8));
      out.flush();
      byte[] reply = client.getInputStream().readNBytes("ping over hbone\n".length());
      assertThat(new String(reply, StandardCharsets.UTF_8)).isEqualTo("ping over hbone\n");
    }
    assertThat(echoPeers).as("the app saw pod B's inbound proxy, not pod A directly").containsExactly(podB);
    try {
      eventually("mTLS metrics", () -> ztunnel.metrics().scrape(null).body().lines()
          .anyMatch(l -> l.startsWith("istio_tcp_connections_opened_total{")
              && l.contains("reporter=\"destination\"") && l.contains("connection_security_policy=\"mutual_tls\"")
              && l.contains("source_principal=\"spiffe://cluster.local/ns/ns/sa/sa-a\"")
              && l.contains("destination_principal=\"spiffe://cluster.local/ns/ns/sa/sa-b\"")));
    } catch (AssertionError e) {
      throw new AssertionError(e.getMessage() + "\n" + ztunnel.metrics().scrape(null).body().lines()
          .filter(l -> l.startsWith("istio_tcp_connections_opened_total")).toList(), e);
    }
    assertThat(ztunnel.metrics().scrape(null).body())
        .contains("workload_manager_active_proxy_count 2.0", "workload_manager_proxies_started_total 2.0");

    // Pod A is deleted: its listeners go at once; pod B's stay.
    assertThat(request(zds, del("uid-a"), null)).isEmpty();
    assertThat(net.exec(0, "ss", "-ltnH")).doesNotContain(":15001", ":15006", ":15008");
    assertThat(net.exec(1, "ss", "-ltnH")).contains(":15008");
    assertThat(ztunnel.metrics().scrape(null).body())
        .contains("workload_manager_active_proxy_count 1.0", "workload_manager_proxies_stopped_total 1.0");

    // Shutdown drains pod B's proxy too.
    assertThat(ztunnel.drain(Duration.ofSeconds(1))).succeedsWithin(WAIT);
    assertThat(net.exec(1, "ss", "-ltnH")).doesNotContain(":15001", ":15006", ":15008");
  }

  private static byte[] addPod(String uid, String name, String serviceAccount) {
    return WorkloadRequest.newBuilder().setAdd(AddWorkload.newBuilder().setUid(uid)
        .setWorkloadInfo(WorkloadInfo.newBuilder().setName(name).setNamespace("ns").setServiceAccount(serviceAccount)))
        .build().toByteArray();
  }

  /** Sends one ZDS request (with the netns at {@code netns} as descriptor if given); returns the ack's error. */
  private static String request(SeqPacketSocket s, byte[] message, Path netns) throws IOException {
    if (netns != null) {
      int fd = SeqPacketSocket.openReadOnly(netns);
      try {
        s.send(message, OptionalInt.of(fd));
      } finally {
        SeqPacketSocket.closeFd(fd);
      }
    } else {
      s.send(message, OptionalInt.empty());
    }
    return WorkloadResponse.parseFrom(s.receive(1024).orElseThrow(() -> new IOException("EOF instead of an ack"))
        .data()).getAck().getError();
  }

  private static void serveEcho(ServerSocket server, List<String> peers) {
    while (!server.isClosed()) {
      try {
        Socket s = server.accept();
        peers.add(s.getInetAddress().getHostAddress());
        Thread.ofPlatform().daemon().start(() -> {
          try (s; InputStream in = s.getInputStream(); OutputStream out = s.getOutputStream()) {
            in.transferTo(out);
          } catch (IOException ignored) {
            // the peer went away
          }
        });
      } catch (IOException e) {
        return;
      }
    }
  }

  private static void eventually(String what, BooleanSupplier condition) throws InterruptedException {
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (!condition.getAsBoolean()) {
      assertThat(System.nanoTime() - deadline).as("timed out waiting for %s", what).isNegative();
      Thread.sleep(50);
    }
  }
}
