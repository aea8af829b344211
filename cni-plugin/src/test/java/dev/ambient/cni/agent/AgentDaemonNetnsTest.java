package dev.ambient.cni.agent;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ambient.cni.agent.rules.NftablesRedirection;
import dev.ambient.cni.agent.rules.PodAddresses;
import dev.ambient.cni.agent.rules.PodNetns;
import dev.ambient.cni.agent.rules.RedirectionRules;
import dev.ambient.cni.agent.zds.FakeZtunnel;
import dev.ambient.xds.api.zds.WorkloadRequest;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.net.URI;
import java.net.UnixDomainSocketAddress;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The whole node agent ({@link AgentDaemon}: real nftables rules in throw-away pod netns, host probe
 * rules in a throw-away "node" netns, the ZDS server with a fake ztunnel, fabric8's CRUD mock API
 * server) driven as the CNI plugin and the kubelet would: CNI ADD without and with ztunnel, a second
 * ztunnel-less restart that restores the snapshot and repairs a deleted rule, and un-labelling the
 * namespace. Needs root; never skips.
 */
@Tag("netns")
@EnableKubernetesMockClient(crud = true)
class AgentDaemonNetnsTest {
  static KubernetesClient client;
  static KubernetesMockServer server;

  private static final String NODE = "node-a";
  private static final InetAddress IP1 = ip("198.18.80.2");
  private static final InetAddress IP2 = ip("198.18.80.3");
  private final String prefix = "cnia" + HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextInt()).substring(0, 6);
  private final String nodeNs = prefix + "n";
  private final String pod1Ns = prefix + "1";
  private final String pod2Ns = prefix + "2";
  private final List<AgentDaemon> daemons = new ArrayList<>();
  /** The plugin's calls block until ztunnel acks: not on the common pool, which the rule commands use. */
  private final ExecutorService http = Executors.newVirtualThreadPerTaskExecutor();
  @TempDir Path dir;

  @BeforeEach
  void setUp() throws Exception {
    assertThat(run("id", "-u").strip()).as("needs root").isEqualTo("0");
    run("ip", "netns", "add", nodeNs);
    netns(pod1Ns, IP1);
    netns(pod2Ns, IP2);
    client.namespaces().resource(new NamespaceBuilder().withNewMetadata().withName("shop")
        .addToLabels(Enrollment.DATAPLANE_MODE, Enrollment.AMBIENT).endMetadata().build()).create();
    client.pods().inNamespace("shop").resource(pod("web-1", "uid-web-1")).create();
    client.pods().inNamespace("shop").resource(pod("web-2", "uid-web-2")).create();
  }

  @AfterEach
  void tearDown() throws Exception {
    daemons.forEach(AgentDaemon::close);
    http.shutdownNow();
    client.pods().inAnyNamespace().delete();
    client.namespaces().withName("shop").delete();
    for (String ns : List.of(nodeNs, pod1Ns, pod2Ns)) {
      run("ip", "netns", "del", ns);
    }
  }

  @Test
  void cniAdd_zds_annotation_restart_unlabel() throws Exception {
    AgentDaemon agent = start();
    assertThat(agent.isReady()).isTrue();
    assertThat(readyz(agent)).isEqualTo(200);
    String uid1 = uid("web-1");
    String uid2 = uid("web-2");

    // 1. No ztunnel: the ADD fails (500), the pod stays pending with its rules in place.
    Response noZtunnel = cmdAdd("web-1", pod1Ns, IP1);
    assertThat(noZtunnel.status()).isEqualTo(500);
    assertThat(noZtunnel.body()).contains("no ztunnel connected");
    assertThat(annotation("web-1", RedirectionAnnotation.KEY)).isEqualTo("pending");
    assertThat(annotation("web-1", RedirectionAnnotation.NETNS_KEY)).isEqualTo(netnsPath(pod1Ns).toString());
    assertThat(rulesClean(pod1Ns, IP1)).as("rules installed while pending").isTrue();
    assertThat(hostSet()).doesNotContain(IP1.getHostAddress());

    try (FakeZtunnel zt = FakeZtunnel.connect(dir.resolve("ztunnel.sock")).hello()) {
      // 2. ztunnel connects: the pending pod is in its snapshot, with its netns.
      FakeZtunnel.Received snap = zt.receive();
      assertThat(snap.request().getAdd().getUid()).isEqualTo(uid1);
      assertThat(snap.netnsInode()).isEqualTo(inode(netnsPath(pod1Ns)));
      zt.ack();
      assertThat(zt.receive().request().hasSnapshotSent()).isTrue();
      zt.ack();
      // the kubelet retries the failed ADD: now ztunnel acks it and the pod is enabled
      CompletableFuture<Response> retry = CompletableFuture.supplyAsync(() -> cmdAdd("web-1", pod1Ns, IP1), http);
      FakeZtunnel.Received again = zt.receive();
      assertThat(again.request().getAdd().getUid()).isEqualTo(uid1);
      zt.ack();
      assertThat(retry.get(10, TimeUnit.SECONDS).status()).isEqualTo(200);
      assertThat(annotation("web-1", RedirectionAnnotation.KEY)).isEqualTo("enabled");
      assertThat(hostSet()).contains(IP1.getHostAddress()).contains(uid1);
      kubeletSetsIp("web-1", IP1);

      // 3. A CNI ADD with ztunnel connected: 200 only after ztunnel's ack, AddWorkload carries the netns.
      CompletableFuture<Response> add2 = CompletableFuture.supplyAsync(() -> cmdAdd("web-2", pod2Ns, IP2), http);
      FakeZtunnel.Received added = zt.receive();
      assertThat(added.request().getAdd().getUid()).isEqualTo(uid2);
      assertThat(added.request().getAdd().getWorkloadInfo().getName()).isEqualTo("web-2");
      assertThat(added.request().getAdd().getWorkloadInfo().getNamespace()).isEqualTo("shop");
      assertThat(added.request().getAdd().getWorkloadInfo().getServiceAccount()).isEqualTo("web");
      assertThat(added.netnsInode()).isEqualTo(inode(netnsPath(pod2Ns)));
      Thread.sleep(200);
      assertThat(add2).as("the ADD waits for ztunnel's ack").isNotDone();
      zt.ack();
      assertThat(add2.get(10, TimeUnit.SECONDS).status()).isEqualTo(200);
      assertThat(annotation("web-2", RedirectionAnnotation.KEY)).isEqualTo("enabled");
      assertThat(rulesClean(pod2Ns, IP2)).isTrue();
      assertThat(hostSet()).contains(IP2.getHostAddress()).contains(uid2);
      kubeletSetsIp("web-2", IP2);

      // 4. Agent stops (SIGTERM): sockets close, rules stay.
      agent.close();
      assertThat(zt.closedByAgent()).isTrue();
    }
    assertThat(dir.resolve("run/pluginevent.sock")).doesNotExist();
    assertThat(rulesClean(pod1Ns, IP1)).as("pod rules kept over a restart").isTrue();
    assertThat(hostSet()).contains(IP1.getHostAddress());

    // 5. Someone deletes a rule while no agent runs; the next agent repairs it and re-sends the snapshot.
    run("ip", "netns", "exec", pod1Ns, "nft", "flush", "table", "inet", istioTable(pod1Ns));
    assertThat(rulesClean(pod1Ns, IP1)).isFalse();
    AgentDaemon again = start();
    assertThat(rulesClean(pod1Ns, IP1)).as("repaired at start-up").isTrue();
    assertThat(again.agent().captured()).containsExactlyInAnyOrder("shop/web-1", "shop/web-2");
    try (FakeZtunnel zt = FakeZtunnel.connect(dir.resolve("ztunnel.sock")).hello()) {
      Map<String, Long> snapshot = new HashMap<>();
      for (int i = 0; i < 2; i++) {
        FakeZtunnel.Received r = zt.receive();
        snapshot.put(r.request().getAdd().getUid(), r.netnsInode());
        zt.ack();
      }
      assertThat(snapshot).isEqualTo(Map.of(uid1, inode(netnsPath(pod1Ns)), uid2, inode(netnsPath(pod2Ns))));
      assertThat(zt.receive().request().hasSnapshotSent()).isTrue();
      zt.ack();

      // 6. Un-label the namespace: both pods leave; DelWorkload each, rules and set entries gone, annotation removed.
      client.namespaces().withName("shop").edit(n -> new NamespaceBuilder(n).editMetadata()
          .removeFromLabels(Enrollment.DATAPLANE_MODE).endMetadata().build());
      Set<String> deleted = new java.util.HashSet<>();
      for (int i = 0; i < 2; i++) {
        FakeZtunnel.Received r = zt.receive();
        assertThat(r.request().getPayloadCase()).isEqualTo(WorkloadRequest.PayloadCase.DEL);
        deleted.add(r.request().getDel().getUid());
        zt.ack();
      }
      assertThat(deleted).containsExactlyInAnyOrder(uid1, uid2);
      Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> annotation("web-1", RedirectionAnnotation.KEY).isEmpty()
          && annotation("web-2", RedirectionAnnotation.KEY).isEmpty());
      assertThat(run("ip", "netns", "exec", pod1Ns, "nft", "list", "tables")).doesNotContain("istio");
      assertThat(run("ip", "netns", "exec", pod2Ns, "nft", "list", "tables")).doesNotContain("istio");
      assertThat(hostSet()).doesNotContain(IP1.getHostAddress()).doesNotContain(IP2.getHostAddress());
      assertThat(again.agent().captured()).isEmpty();
    }
  }

  private AgentDaemon start() throws Exception {
    AgentConfig config = new AgentConfig(NODE, dir.resolve("run"), dir.resolve("ztunnel.sock"), netnsPath(nodeNs),
        RulesBackend.Kind.NFTABLES, RedirectionRules.Options.defaults(), Enrollment.DEFAULT_EXCLUDED_NAMESPACES,
        false, dir.resolve("bin"), dir.resolve("net.d"), null, "istio-system", 0, false, false,
        new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), Duration.ofSeconds(10));
    AgentDaemon d = AgentDaemon.start(config, client);
    daemons.add(d);
    return d;
  }

  /** A pod as the CNI ADD finds it: scheduled to this node, no IP in its status yet. */
  private static Pod pod(String name, String uid) {
    return new PodBuilder().withNewMetadata().withName(name).withNamespace("shop").withUid(uid).endMetadata()
        .withNewSpec().withNodeName(NODE).withServiceAccountName("web")
        .addNewContainer().withName("app").withImage("app").endContainer().endSpec()
        .withNewStatus().withPhase("Pending").endStatus()
        .build();
  }

  private void kubeletSetsIp(String pod, InetAddress ip) {
    client.pods().inNamespace("shop").withName(pod).edit(p -> new PodBuilder(p).editStatus().withPhase("Running")
        .withPodIP(ip.getHostAddress()).addNewPodIP(ip.getHostAddress()).endStatus().build());
  }

  private String uid(String pod) {
    String uid = client.pods().inNamespace("shop").withName(pod).get().getMetadata().getUid();
    assertThat(uid).isNotBlank();
    return uid;
  }

  private String annotation(String pod, String key) {
    Map<String, String> a = client.pods().inNamespace("shop").withName(pod).get().getMetadata().getAnnotations();
    String v = a == null ? null : a.get(key);
    return v == null ? "" : v;
  }

  private int readyz(AgentDaemon agent) throws Exception {
    try (HttpClient http = HttpClient.newHttpClient()) {
      return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + agent.healthPort() + "/readyz")).build(),
          HttpResponse.BodyHandlers.discarding()).statusCode();
    }
  }

  private boolean rulesClean(String ns, InetAddress ip) throws IOException {
    return new NftablesRedirection().check(new PodNetns(netnsPath(ns)), PodAddresses.of(ip),
        RedirectionRules.Options.defaults()).isClean();
  }

  private String istioTable(String ns) throws Exception {
    return run("ip", "netns", "exec", ns, "nft", "list", "tables").lines().map(String::strip)
        .filter(l -> l.startsWith("table inet istio")).map(l -> l.substring("table inet ".length()))
        .findFirst().orElseThrow();
  }

  private String hostSet() throws Exception {
    return run("ip", "netns", "exec", nodeNs, "nft", "list", "ruleset");
  }

  record Response(int status, String body) {}

  /** POST /cmdadd on the agent's socket, as the plugin sends it. */
  private Response cmdAdd(String pod, String ns, InetAddress ip) {
    String body = new CmdAdd(netnsPath(ns).toString(), pod, "shop", List.of(new CmdAdd.PodIp(0, ip, 24, null))).toJson();
    byte[] b = body.getBytes(StandardCharsets.UTF_8);
    String head = "POST /cmdadd HTTP/1.1\r\nHost: unix\r\nContent-Type: application/json\r\nContent-Length: " + b.length
        + "\r\nConnection: close\r\n\r\n";
    try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
      ch.connect(UnixDomainSocketAddress.of(dir.resolve("run/pluginevent.sock")));
      ByteBuffer out = ByteBuffer.allocate(head.length() + b.length);
      out.put(head.getBytes(StandardCharsets.ISO_8859_1)).put(b).flip();
      while (out.hasRemaining()) {
        ch.write(out);
      }
      InputStream in = Channels.newInputStream(ch);
      String response = new String(in.readAllBytes(), StandardCharsets.UTF_8);
      int status = Integer.parseInt(response.split(" ", 3)[1]);
      return new Response(status, response.substring(response.indexOf("\r\n\r\n") + 4));
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  private static void netns(String name, InetAddress ip) throws Exception {
    run("ip", "netns", "add", name);
    run("ip", "-n", name, "link", "set", "lo", "up");
    run("ip", "-n", name, "link", "add", "eth0", "type", "dummy");
    run("ip", "-n", name, "addr", "add", ip.getHostAddress() + "/24", "dev", "eth0");
    run("ip", "-n", name, "link", "set", "eth0", "up");
  }

  private static Path netnsPath(String name) {
    return Path.of("/var/run/netns", name);
  }

  private static long inode(Path p) throws Exception {
    return (Long) Files.getAttribute(p, "unix:ino");
  }

  private static InetAddress ip(String s) {
    return InetAddress.ofLiteral(s);
  }

  private static String run(String... command) throws Exception {
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
    return out;
  }
}
