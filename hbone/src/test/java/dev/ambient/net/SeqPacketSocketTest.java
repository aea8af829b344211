package dev.ambient.net;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link SeqPacketSocket} between two threads over a real socket file (no root needed). */
class SeqPacketSocketTest {
  @TempDir Path dir;
  private Path path;
  private SeqPacketSocket listener;

  @BeforeEach
  void listen() throws IOException {
    path = dir.resolve("zds.sock");
    listener = SeqPacketSocket.listen(path, 4);
    listener.setTimeouts(Duration.ofSeconds(5), Duration.ofSeconds(5));
  }

  @AfterEach
  void close() throws IOException {
    listener.close();
  }

  @Test
  void roundTrip_preservesMessageBoundaries() throws Exception {
    CompletableFuture<SeqPacketSocket> accepted = CompletableFuture.supplyAsync(this::acceptUnchecked);
    try (SeqPacketSocket client = SeqPacketSocket.connect(path); SeqPacketSocket server = accepted.get(5, TimeUnit.SECONDS)) {
      server.setTimeouts(Duration.ofSeconds(5), Duration.ofSeconds(5));
      client.send(bytes("one"), OptionalInt.empty());
      client.send(bytes("second message"), OptionalInt.empty());
      client.send(new byte[] {0}, OptionalInt.empty());

      assertThat(text(server.receive(1024))).isEqualTo("one");
      assertThat(text(server.receive(1024))).isEqualTo("second message");
      assertThat(server.receive(1024).orElseThrow().data()).containsExactly(0);

      server.send(bytes("reply"), OptionalInt.empty());
      client.setTimeouts(Duration.ofSeconds(5), Duration.ofSeconds(5));
      assertThat(text(client.receive(1024))).isEqualTo("reply");
    }
  }

  @Test
  void truncatedPacket_isAnError_andTheNextPacketStillArrivesWhole() throws Exception {
    CompletableFuture<SeqPacketSocket> accepted = CompletableFuture.supplyAsync(this::acceptUnchecked);
    try (SeqPacketSocket client = SeqPacketSocket.connect(path); SeqPacketSocket server = accepted.get(5, TimeUnit.SECONDS)) {
      server.setTimeouts(Duration.ofSeconds(5), Duration.ofSeconds(5));
      byte[] big = new byte[2000];
      Arrays.fill(big, (byte) 7);
      client.send(big, OptionalInt.empty());
      client.send(bytes("after"), OptionalInt.empty());

      assertThatThrownBy(() -> server.receive(1024)).isInstanceOf(IOException.class).hasMessageContaining("MSG_TRUNC");
      assertThat(text(server.receive(1024))).isEqualTo("after");
    }
  }

  @Test
  void peerClose_isEndOfStream() throws Exception {
    CompletableFuture<SeqPacketSocket> accepted = CompletableFuture.supplyAsync(this::acceptUnchecked);
    SeqPacketSocket client = SeqPacketSocket.connect(path);
    try (SeqPacketSocket server = accepted.get(5, TimeUnit.SECONDS)) {
      server.setTimeouts(Duration.ofSeconds(5), Duration.ofSeconds(5));
      client.send(bytes("last"), OptionalInt.empty());
      client.close();
      assertThat(text(server.receive(1024))).isEqualTo("last");
      assertThat(server.receive(1024)).isEmpty();
    }
  }

  @Test
  void receiveTimeout_isASocketTimeout() throws Exception {
    CompletableFuture<SeqPacketSocket> accepted = CompletableFuture.supplyAsync(this::acceptUnchecked);
    try (SeqPacketSocket client = SeqPacketSocket.connect(path); SeqPacketSocket server = accepted.get(5, TimeUnit.SECONDS)) {
      server.setTimeouts(Duration.ofMillis(50), Duration.ofSeconds(1));
      long start = System.nanoTime();
      assertThatThrownBy(() -> server.receive(1024)).isInstanceOf(SocketTimeoutException.class);
      assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(3));
      client.send(bytes("still alive"), OptionalInt.empty());
      assertThat(text(server.receive(1024))).isEqualTo("still alive");
    }
  }

  @Test
  void acceptTimeout_andCloseWakesABlockedAccept() throws Exception {
    listener.setTimeouts(Duration.ofMillis(50), Duration.ofSeconds(1));
    assertThatThrownBy(listener::accept).isInstanceOf(SocketTimeoutException.class);

    listener.setTimeouts(Duration.ZERO, Duration.ZERO);
    CompletableFuture<SeqPacketSocket> blocked = CompletableFuture.supplyAsync(this::acceptUnchecked);
    Thread.sleep(100);
    long start = System.nanoTime();
    listener.close();
    assertThatThrownBy(() -> blocked.get(5, TimeUnit.SECONDS)).hasRootCauseInstanceOf(IOException.class);
    assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(2));
  }

  @Test
  void passesADescriptor_theReceiverGetsItsOwnCopy() throws Exception {
    Path file = Files.writeString(dir.resolve("payload.txt"), "through SCM_RIGHTS");
    CompletableFuture<SeqPacketSocket> accepted = CompletableFuture.supplyAsync(this::acceptUnchecked);
    try (SeqPacketSocket client = SeqPacketSocket.connect(path); SeqPacketSocket server = accepted.get(5, TimeUnit.SECONDS)) {
      server.setTimeouts(Duration.ofSeconds(5), Duration.ofSeconds(5));
      int sent = SeqPacketSocket.openReadOnly(file);
      client.send(bytes("with fd"), OptionalInt.of(sent));
      SeqPacketSocket.closeFd(sent);
      client.send(bytes("without fd"), OptionalInt.empty());

      SeqPacketSocket.Packet withFd = server.receive(1024).orElseThrow();
      assertThat(new String(withFd.data(), StandardCharsets.UTF_8)).isEqualTo("with fd");
      int received = withFd.fd().orElseThrow();
      try {
        Path target = Files.readSymbolicLink(Path.of("/proc/self/fd/" + received));
        assertThat(target).isEqualTo(file.toRealPath());
        assertThat(Files.readString(Path.of("/proc/self/fd/" + received))).isEqualTo("through SCM_RIGHTS");
        // MSG_CMSG_CLOEXEC: the received descriptor is close-on-exec.
        assertThat(openFlags(received) & 02000000).as("O_CLOEXEC").isNotZero();
      } finally {
        SeqPacketSocket.closeFd(received);
      }
      assertThat(server.receive(1024).orElseThrow().fd()).isEmpty();
    }
  }

  @Test
  void badInput_clearErrors() throws Exception {
    assertThatThrownBy(() -> SeqPacketSocket.connect(dir.resolve("nobody-listens.sock")))
        .isInstanceOf(IOException.class).hasMessageContaining("connect(").hasMessageContaining("errno");
    Path regular = Files.writeString(dir.resolve("not-a-socket"), "x");
    assertThatThrownBy(() -> SeqPacketSocket.listen(regular, 1))
        .isInstanceOf(IOException.class).hasMessageContaining("not a socket");
    assertThat(regular).exists();
    assertThatThrownBy(() -> SeqPacketSocket.connect(dir.resolve("x".repeat(120))))
        .isInstanceOf(IOException.class).hasMessageContaining("unix socket path");
    CompletableFuture<SeqPacketSocket> accepted = CompletableFuture.supplyAsync(this::acceptUnchecked);
    try (SeqPacketSocket client = SeqPacketSocket.connect(path); SeqPacketSocket server = accepted.get(5, TimeUnit.SECONDS)) {
      assertThatThrownBy(() -> client.send(new byte[0], OptionalInt.empty())).isInstanceOf(IllegalArgumentException.class);
      server.close();
      assertThatThrownBy(() -> server.receive(16)).isInstanceOf(IOException.class).hasMessageContaining("closed");
    }
  }

  @Test
  void listen_replacesAStaleSocketFile() throws Exception {
    listener.close();
    assertThat(path).exists(); // the file outlives the socket, as after a crash
    listener = SeqPacketSocket.listen(path, 4);
    listener.setTimeouts(Duration.ofSeconds(5), Duration.ofSeconds(5));
    CompletableFuture<SeqPacketSocket> accepted = CompletableFuture.supplyAsync(this::acceptUnchecked);
    try (SeqPacketSocket client = SeqPacketSocket.connect(path); SeqPacketSocket server = accepted.get(5, TimeUnit.SECONDS)) {
      client.send(bytes("fresh"), OptionalInt.empty());
      assertThat(text(server.receive(64))).isEqualTo("fresh");
    }
  }

  private SeqPacketSocket acceptUnchecked() {
    try {
      return listener.accept();
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  private static int openFlags(int fd) throws IOException {
    String info = Files.readString(Path.of("/proc/self/fdinfo/" + fd));
    java.util.regex.Matcher m = java.util.regex.Pattern.compile("flags:\\s+([0-7]+)").matcher(info);
    assertThat(m.find()).as(info).isTrue();
    return Integer.parseInt(m.group(1), 8);
  }

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  private static String text(Optional<SeqPacketSocket.Packet> p) {
    SeqPacketSocket.Packet packet = p.orElseThrow();
    assertThat(packet.fd()).isEmpty();
    return new String(packet.data(), StandardCharsets.UTF_8);
  }
}
