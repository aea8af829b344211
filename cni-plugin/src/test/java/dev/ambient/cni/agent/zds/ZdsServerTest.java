package dev.ambient.cni.agent.zds;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ambient.xds.api.zds.WorkloadInfo;
import dev.ambient.xds.api.zds.WorkloadRequest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The ZDS protocol against a fake ztunnel over a real SOCK_SEQPACKET socket. Regular files stand in
 * for network namespaces here (any descriptor travels the same way; the root test uses real ones):
 * what arrives is compared by inode.
 */
class ZdsServerTest {
  private static final ZdsServer.Settings FAST = new ZdsServer.Settings(Duration.ofSeconds(2), Duration.ofMillis(700),
      Duration.ofMillis(300), Duration.ofMillis(10), Duration.ofMillis(1));

  @TempDir Path dir;
  private Path socket;
  private ZdsServer server;

  @BeforeEach
  void start() throws Exception {
    socket = dir.resolve("run/ztunnel/ztunnel.sock");
    server = ZdsServer.start(socket, FAST);
  }

  @AfterEach
  void stop() throws Exception {
    server.close();
    assertThat(socket).doesNotExist();
  }

  @Test
  void snapshot_thenSnapshotSent_eachAckedBeforeTheNext_withNetnsDescriptors() throws Exception {
    Path nsA = netns("a");
    Path nsB = netns("b");
    assertThatThrownBy(() -> server.addPod("uid-a", info("a"), nsA).get(5, TimeUnit.SECONDS))
        .hasCauseInstanceOf(ZdsException.class).hasMessageContaining("no ztunnel connected");
    assertThatThrownBy(() -> server.addPod("uid-b", info("b"), nsB).get(5, TimeUnit.SECONDS))
        .hasCauseInstanceOf(ZdsException.class);
    assertThat(server.pods()).containsExactlyInAnyOrder("uid-a", "uid-b");

    try (FakeZtunnel zt = FakeZtunnel.connect(socket)) {
      assertThat(zt.quietFor(Duration.ofMillis(200))).as("the agent waits for ZdsHello").isTrue();
      zt.hello();
      FakeZtunnel.Received first = zt.receive();
      assertThat(first.request().getPayloadCase()).isEqualTo(WorkloadRequest.PayloadCase.ADD);
      assertThat(first.request().getAdd().getUid()).isEqualTo("uid-a");
      assertThat(first.request().getAdd().getWorkloadInfo()).isEqualTo(info("a"));
      assertThat(first.netnsInode()).isEqualTo(inode(nsA));
      assertThat(zt.quietFor(Duration.ofMillis(300))).as("nothing more before the ack").isTrue();
      zt.ack();
      FakeZtunnel.Received second = zt.receive();
      assertThat(second.request().getAdd().getUid()).isEqualTo("uid-b");
      assertThat(second.netnsInode()).isEqualTo(inode(nsB));
      assertThat(server.isConnected()).isFalse();
      zt.ack();
      FakeZtunnel.Received sent = zt.receive();
      assertThat(sent.request().hasSnapshotSent()).isTrue();
      assertThat(sent.netnsInode()).as("only AddWorkload carries a descriptor").isZero();
      zt.ack();
      server.currentSnapshot().get(5, TimeUnit.SECONDS);
      assertThat(server.isConnected()).isTrue();
    }
  }

  @Test
  void addAndRemove_afterTheSnapshot_completeOnlyWhenAcked_nackFailsTheAdd() throws Exception {
    try (FakeZtunnel zt = connectAndSync()) {
      CompletableFuture<Void> added = server.addPod("uid-c", info("c"), netns("c"));
      FakeZtunnel.Received add = zt.receive();
      assertThat(add.request().getAdd().getUid()).isEqualTo("uid-c");
      assertThat(add.netnsInode()).isEqualTo(inode(dir.resolve("ns-c")));
      Thread.sleep(100);
      assertThat(added).as("the CNI ADD waits for the ack").isNotDone();
      zt.ack();
      added.get(5, TimeUnit.SECONDS);

      CompletableFuture<Void> nacked = server.addPod("uid-d", info("d"), netns("d"));
      zt.receive();
      zt.ack("failed to bind 15008");
      assertThatThrownBy(() -> nacked.get(5, TimeUnit.SECONDS)).isInstanceOf(ExecutionException.class)
          .hasCauseInstanceOf(ZdsException.class).hasMessageContaining("failed to bind 15008");

      CompletableFuture<Void> removed = server.removePod("uid-c");
      FakeZtunnel.Received del = zt.receive();
      assertThat(del.request().getDel().getUid()).isEqualTo("uid-c");
      assertThat(del.request().toByteArray()).as("DelWorkload.uid is field 2").startsWith(0x12, 0x07, 0x12);
      assertThat(del.netnsInode()).isZero();
      zt.ack();
      removed.get(5, TimeUnit.SECONDS);
      assertThat(server.pods()).containsExactly("uid-d");
      assertThat(server.isConnected()).as("a NACK does not drop the connection").isTrue();
    }
  }

  @Test
  void secondZtunnel_getsTheFullSnapshot_newPodsGoToTheNewest_deletesToAll_oldOneKept() throws Exception {
    try (FakeZtunnel first = connectAndSync()) {
      CompletableFuture<Void> a = server.addPod("uid-e", info("e"), netns("e"));
      first.receive();
      first.ack();
      a.get(5, TimeUnit.SECONDS);

      try (FakeZtunnel second = FakeZtunnel.connect(socket).hello()) {
        FakeZtunnel.Received snap = second.receive();
        assertThat(snap.request().getAdd().getUid()).isEqualTo("uid-e");
        assertThat(snap.netnsInode()).isEqualTo(inode(dir.resolve("ns-e")));
        second.ack();
        assertThat(second.receive().request().hasSnapshotSent()).isTrue();
        second.ack();
        Awaitility.await().atMost(Duration.ofSeconds(5)).until(server::isConnected);
        assertThat(server.connections()).as("the older connection is kept").isEqualTo(2);

        CompletableFuture<Void> f = server.addPod("uid-f", info("f"), netns("f"));
        assertThat(second.receive().request().getAdd().getUid()).isEqualTo("uid-f");
        second.ack();
        f.get(5, TimeUnit.SECONDS);
        assertThat(first.quietFor(Duration.ofMillis(300))).as("new pods go only to the newest ztunnel").isTrue();

        CompletableFuture<Void> del = server.removePod("uid-e");
        assertThat(first.receive().request().getDel().getUid()).isEqualTo("uid-e");
        assertThat(second.receive().request().getDel().getUid()).isEqualTo("uid-e");
        first.ack();
        Thread.sleep(100);
        assertThat(del).as("done only when every ztunnel acked").isNotDone();
        second.ack();
        del.get(5, TimeUnit.SECONDS);
      }
      // the newest one left: the older connection takes new pods again
      Awaitility.await().atMost(Duration.ofSeconds(5)).until(() -> server.connections() == 1);
      CompletableFuture<Void> g = server.addPod("uid-g2", info("g2"), netns("g2"));
      assertThat(first.receive().request().getAdd().getUid()).isEqualTo("uid-g2");
      first.ack();
      g.get(5, TimeUnit.SECONDS);
    }
  }

  @Test
  void openedServer_acceptsOnlyAfterServe_soTheFirstSnapshotIsComplete() throws Exception {
    Path other = dir.resolve("late/ztunnel.sock");
    try (ZdsServer late = ZdsServer.open(other, FAST);
         FakeZtunnel zt = FakeZtunnel.connect(other).hello()) {
      late.addPod("uid-r", info("r"), netns("r"));
      assertThat(zt.quietFor(Duration.ofMillis(300))).as("not accepted yet").isTrue();
      late.serve();
      assertThat(zt.receive().request().getAdd().getUid()).isEqualTo("uid-r");
      zt.ack();
      assertThat(zt.receive().request().hasSnapshotSent()).isTrue();
      zt.ack();
      late.currentSnapshot().get(5, TimeUnit.SECONDS);
    }
  }

  @Test
  void missingAck_failsTheAdd_andDropsTheConnection_aNewOneIsServed() throws Exception {
    try (FakeZtunnel zt = connectAndSync()) {
      CompletableFuture<Void> f = server.addPod("uid-g", info("g"), netns("g"));
      zt.receive(); // and never ack
      assertThatThrownBy(() -> f.get(5, TimeUnit.SECONDS)).hasCauseInstanceOf(ZdsException.class)
          .hasMessageContaining("no ack");
      assertThat(zt.closedByAgent()).isTrue();
      Awaitility.await().atMost(Duration.ofSeconds(5)).until(() -> !server.isConnected());
    }
    try (FakeZtunnel again = FakeZtunnel.connect(socket).hello()) {
      assertThat(again.receive().request().getAdd().getUid()).isEqualTo("uid-g");
      again.ack();
      assertThat(again.receive().request().hasSnapshotSent()).isTrue();
      again.ack();
      server.currentSnapshot().get(5, TimeUnit.SECONDS);
    }
  }

  @Test
  void badInput_dropsOnlyThatConnection() throws Exception {
    try (FakeZtunnel garbage = FakeZtunnel.connect(socket)) {
      garbage.sendRaw(new byte[] {(byte) 0xff, (byte) 0xff, (byte) 0xff});
      assertThat(garbage.closedByAgent()).as("undecodable hello drops the connection").isTrue();
    }
    try (FakeZtunnel silent = FakeZtunnel.connect(socket)) {
      assertThat(silent.closedByAgent()).as("no hello within the timeout drops the connection").isTrue();
    }
    try (FakeZtunnel chatty = connectAndSync()) {
      chatty.ack(); // unsolicited: ztunnel never speaks first after the snapshot
      assertThat(chatty.closedByAgent()).as("an unsolicited message is a protocol error").isTrue();
    }
    assertThatThrownBy(() -> server.addPod("uid-x", info("x"), dir.resolve("no-such-netns")).get(5, TimeUnit.SECONDS))
        .hasCauseInstanceOf(ZdsException.class).hasMessageContaining("cannot open netns");
    assertThat(server.pods()).doesNotContain("uid-x");
    try (FakeZtunnel good = connectAndSync()) {
      assertThat(good.quietFor(Duration.ofMillis(700))).as("keepalive probes are silent").isTrue();
      assertThat(server.isConnected()).isTrue();
    }
  }

  @Test
  void removeWithoutZtunnel_succeeds_andTheNextSnapshotLeavesThePodOut() throws Exception {
    server.addPod("uid-h", info("h"), netns("h"));
    server.addPod("uid-i", info("i"), netns("i"));
    server.removePod("uid-h").get(5, TimeUnit.SECONDS);
    try (FakeZtunnel zt = FakeZtunnel.connect(socket).hello()) {
      assertThat(zt.receive().request().getAdd().getUid()).isEqualTo("uid-i");
      zt.ack();
      assertThat(zt.receive().request().hasSnapshotSent()).isTrue();
      zt.ack();
    }
  }

  private FakeZtunnel connectAndSync() throws Exception {
    FakeZtunnel zt = FakeZtunnel.connect(socket).hello();
    for (String uid : server.pods()) {
      assertThat(zt.receive().request().hasAdd()).as(uid).isTrue();
      zt.ack();
    }
    assertThat(zt.receive().request().hasSnapshotSent()).isTrue();
    zt.ack();
    Awaitility.await().atMost(Duration.ofSeconds(5)).until(server::isConnected);
    return zt;
  }

  private Path netns(String name) throws Exception {
    return Files.writeString(dir.resolve("ns-" + name), name);
  }

  private static long inode(Path p) throws Exception {
    return (Long) Files.getAttribute(p, "unix:ino");
  }

  static WorkloadInfo info(String name) {
    return WorkloadInfo.newBuilder().setName("pod-" + name).setNamespace("default").setServiceAccount("sa-" + name).build();
  }
}
