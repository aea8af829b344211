package dev.ambient.cni.agent.zds;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ambient.net.SeqPacketSocket;
import dev.ambient.xds.api.zds.Ack;
import dev.ambient.xds.api.zds.Version;
import dev.ambient.xds.api.zds.WorkloadRequest;
import dev.ambient.xds.api.zds.WorkloadResponse;
import dev.ambient.xds.api.zds.ZdsHello;
import java.io.IOException;
import java.net.SocketTimeoutException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * The ztunnel side of ZDS, as ztunnel's in-pod workload manager speaks it (ztunnel.md §7): connect,
 * send ZdsHello{V1}, then read one WorkloadRequest at a time (with its descriptor) and ack it when
 * the test says so. Received descriptors are reduced to the inode they name and closed.
 */
public final class FakeZtunnel implements AutoCloseable {
  /** One request as received: the message and the inode of the descriptor that came with it (0: none). */
  public record Received(WorkloadRequest request, long netnsInode) {}

  private final SeqPacketSocket socket;

  private FakeZtunnel(SeqPacketSocket socket) {
    this.socket = socket;
  }

  public static FakeZtunnel connect(Path path) throws IOException {
    SeqPacketSocket s = SeqPacketSocket.connect(path);
    s.setTimeouts(Duration.ofSeconds(5), Duration.ofSeconds(5));
    return new FakeZtunnel(s);
  }

  public FakeZtunnel hello() throws IOException {
    socket.send(ZdsHello.newBuilder().setVersion(Version.V1).build().toByteArray(), OptionalInt.empty());
    return this;
  }

  public void sendRaw(byte[] bytes) throws IOException {
    socket.send(bytes, OptionalInt.empty());
  }

  public Received receive() throws IOException {
    Optional<SeqPacketSocket.Packet> p = socket.receive(1024);
    assertThat(p).as("a request from the agent, not EOF").isPresent();
    long inode = 0;
    if (p.get().fd().isPresent()) {
      int fd = p.get().fd().getAsInt();
      try {
        inode = (Long) Files.getAttribute(Path.of("/proc/self/fd/" + fd), "unix:ino");
      } finally {
        SeqPacketSocket.closeFd(fd);
      }
    }
    return new Received(WorkloadRequest.parseFrom(p.get().data()), inode);
  }

  /** The next request if one arrives within {@code wait}. */
  public Optional<Received> receiveWithin(Duration wait) throws IOException {
    socket.setTimeouts(wait, Duration.ofSeconds(5));
    try {
      return Optional.of(receive());
    } catch (SocketTimeoutException e) {
      return Optional.empty();
    } finally {
      socket.setTimeouts(Duration.ofSeconds(5), Duration.ofSeconds(5));
    }
  }

  /** Nothing arrives within {@code wait}. */
  public boolean quietFor(Duration wait) throws IOException {
    socket.setTimeouts(wait, Duration.ofSeconds(5));
    try {
      Optional<SeqPacketSocket.Packet> p = socket.receive(1024);
      p.flatMap(x -> Optional.of(x.fd())).ifPresent(fd -> fd.ifPresent(this::closeQuietly));
      return false;
    } catch (SocketTimeoutException e) {
      return true;
    } finally {
      socket.setTimeouts(Duration.ofSeconds(5), Duration.ofSeconds(5));
    }
  }

  /** The agent closed the connection: EOF within 5 s. */
  public boolean closedByAgent() throws IOException {
    try {
      return socket.receive(1024).isEmpty();
    } catch (SocketTimeoutException e) {
      return false;
    }
  }

  public void ack() throws IOException {
    ack("");
  }

  public void ack(String error) throws IOException {
    socket.send(WorkloadResponse.newBuilder().setAck(Ack.newBuilder().setError(error)).build().toByteArray(),
        OptionalInt.empty());
  }

  private void closeQuietly(int fd) {
    try {
      SeqPacketSocket.closeFd(fd);
    } catch (IOException ignored) {
      // test helper
    }
  }

  @Override
  public void close() throws IOException {
    socket.close();
  }
}
