package dev.ambient.net;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.OptionalInt;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Passing a real network-namespace descriptor over {@link SeqPacketSocket}, as ZDS does (root). */
@Tag("netns")
class SeqPacketSocketNetnsTest {
  @TempDir Path dir;
  private final String nsName = "spt" + Integer.toHexString(ThreadLocalRandom.current().nextInt(1 << 24));

  @AfterEach
  void deleteNamespace() throws Exception {
    run("ip", "netns", "del", nsName);
  }

  @Test
  void netnsDescriptor_arrivesAndNamesTheSameNamespace() throws Exception {
    assertThat(run("id", "-u").strip()).as("needs root").isEqualTo("0");
    run("ip", "netns", "add", nsName);
    Path nsPath = Path.of("/var/run/netns", nsName);
    Object expectedInode = Files.getAttribute(nsPath, "unix:ino");
    assertThat(Files.getAttribute(Path.of("/proc/self/ns/net"), "unix:ino")).isNotEqualTo(expectedInode);

    try (SeqPacketSocket listener = SeqPacketSocket.listen(dir.resolve("zds.sock"), 1)) {
      listener.setTimeouts(Duration.ofSeconds(5), Duration.ofSeconds(5));
      CompletableFuture<SeqPacketSocket> accepted = CompletableFuture.supplyAsync(() -> {
        try {
          return listener.accept();
        } catch (java.io.IOException e) {
          throw new java.io.UncheckedIOException(e);
        }
      });
      try (SeqPacketSocket ztunnel = SeqPacketSocket.connect(dir.resolve("zds.sock"));
           SeqPacketSocket agent = accepted.get(5, TimeUnit.SECONDS)) {
        int nsFd = SeqPacketSocket.openReadOnly(nsPath);
        try {
          agent.send("add".getBytes(StandardCharsets.UTF_8), OptionalInt.of(nsFd));
        } finally {
          SeqPacketSocket.closeFd(nsFd);
        }
        ztunnel.setTimeouts(Duration.ofSeconds(5), Duration.ofSeconds(5));
        // Received on another thread, as ztunnel's workload manager does.
        int received = CompletableFuture.supplyAsync(() -> {
          try {
            return ztunnel.receive(1024).orElseThrow().fd().orElseThrow();
          } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
          }
        }).get(5, TimeUnit.SECONDS);
        try {
          // The received descriptor names the pod's namespace (same nsfs inode), not ours.
          assertThat(Files.getAttribute(Path.of("/proc/self/fd/" + received), "unix:ino")).isEqualTo(expectedInode);
        } finally {
          SeqPacketSocket.closeFd(received);
        }
      }
    }
  }

  private static String run(String... command) throws Exception {
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
    return out;
  }
}
