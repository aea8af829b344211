package dev.ambient.cni.agent.zds;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ambient.net.LinuxSockets;
import dev.ambient.net.SeqPacketSocket;
import dev.ambient.xds.api.zds.Ack;
import dev.ambient.xds.api.zds.Version;
import dev.ambient.xds.api.zds.WorkloadRequest;
import dev.ambient.xds.api.zds.WorkloadResponse;
import dev.ambient.xds.api.zds.ZdsHello;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HexFormat;
import java.util.OptionalInt;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real pod netns handed over ZDS: the ztunnel side enters the received descriptor and binds a
 * listener on the pod's address there, as ztunnel does before acking; only then does addPod
 * complete. Needs root; never skips.
 */
@Tag("netns")
class ZdsServerNetnsTest {
  private static final String POD_IP = "198.18.78.2";
  @TempDir Path dir;
  private final String pod = "cniz" + HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextInt()).substring(0, 6);

  @AfterEach
  void cleanUp() throws Exception {
    run("ip", "netns", "del", pod);
  }

  @Test
  void addPod_passesTheNetns_ztunnelBindsInsideIt_beforeTheAck() throws Exception {
    assertThat(run("id", "-u").strip()).as("needs root").isEqualTo("0");
    run("ip", "netns", "add", pod);
    run("ip", "-n", pod, "link", "add", "d0", "type", "dummy");
    run("ip", "-n", pod, "addr", "add", POD_IP + "/32", "dev", "d0");
    run("ip", "-n", pod, "link", "set", "d0", "up");

    try (ZdsServer server = ZdsServer.start(dir.resolve("ztunnel.sock"));
         SeqPacketSocket ztunnel = SeqPacketSocket.connect(dir.resolve("ztunnel.sock"))) {
      ztunnel.setTimeouts(Duration.ofSeconds(5), Duration.ofSeconds(5));
      ztunnel.send(ZdsHello.newBuilder().setVersion(Version.V1).build().toByteArray(), OptionalInt.empty());
      assertThat(WorkloadRequest.parseFrom(ztunnel.receive(1024).orElseThrow().data()).hasSnapshotSent()).isTrue();
      ztunnel.send(ack(), OptionalInt.empty());
      server.currentSnapshot().get(5, TimeUnit.SECONDS);

      CompletableFuture<Void> added = server.addPod("pod-uid-1", ZdsServerTest.info("z"), Path.of("/var/run/netns", pod));
      SeqPacketSocket.Packet packet = ztunnel.receive(1024).orElseThrow();
      assertThat(WorkloadRequest.parseFrom(packet.data()).getAdd().getUid()).isEqualTo("pod-uid-1");
      int fd = packet.fd().orElseThrow();
      InetSocketAddress bound;
      try (LinuxSockets.NetNamespace ns = LinuxSockets.NetNamespace.open(Path.of("/proc/self/fd/" + fd));
           ServerSocketChannel listener = ns.run(() -> ServerSocketChannel.open()
               .bind(new InetSocketAddress(InetAddress.getByName(POD_IP), 15008)))) {
        bound = (InetSocketAddress) listener.getLocalAddress();
        assertThat(added).as("not acked yet").isNotDone();
        ztunnel.send(ack(), OptionalInt.empty());
        added.get(5, TimeUnit.SECONDS);
      } finally {
        SeqPacketSocket.closeFd(fd);
      }
      // The address exists only in the pod's namespace, so binding it proves where we were.
      assertThat(bound.getAddress().getHostAddress()).isEqualTo(POD_IP);
    }
  }

  private static byte[] ack() {
    return WorkloadResponse.newBuilder().setAck(Ack.getDefaultInstance()).build().toByteArray();
  }

  private static String run(String... command) throws Exception {
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
    return out;
  }
}
