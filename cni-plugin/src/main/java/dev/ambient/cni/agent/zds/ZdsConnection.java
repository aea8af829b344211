package dev.ambient.cni.agent.zds;

import dev.ambient.net.SeqPacketSocket;
import dev.ambient.xds.api.zds.AddWorkload;
import dev.ambient.xds.api.zds.SnapshotSent;
import dev.ambient.xds.api.zds.WorkloadRequest;
import dev.ambient.xds.api.zds.WorkloadResponse;
import dev.ambient.xds.api.zds.ZdsHello;
import java.io.IOException;
import java.net.SocketTimeoutException;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One ztunnel connection, driven by its own platform thread (the socket calls block): read the
 * {@code ZdsHello}, send the snapshot (one {@code AddWorkload} + netns fd per pod) and
 * {@code SnapshotSent}, then send queued adds/deletes. Every request waits for its ack before the
 * next one is sent. A NACK fails only that request; a timeout, a transport or protocol error, or
 * EOF closes the connection and fails everything still queued. While idle the connection is probed
 * with a short read every keepalive interval: a timeout means alive.
 */
final class ZdsConnection {
  private static final Logger log = LoggerFactory.getLogger(ZdsConnection.class);
  /** ztunnel reads each packet into a buffer of this size (ztunnel.md §7.1). */
  static final int MAX_MESSAGE = 1024;

  private record Task(WorkloadRequest request, @Nullable PodEntry netnsOf, CompletableFuture<Void> done) {}

  private final SeqPacketSocket socket;
  private final ZdsServer.Settings settings;
  private final Supplier<List<PodEntry>> snapshot;
  private final Consumer<ZdsConnection> onClosed;
  private final BlockingQueue<Task> queue = new LinkedBlockingQueue<>();
  private final CompletableFuture<Void> snapshotAcked = new CompletableFuture<>();
  private final Thread thread;
  private final String name;
  private volatile boolean closed;

  ZdsConnection(SeqPacketSocket socket, ZdsServer.Settings settings, Supplier<List<PodEntry>> snapshot,
                Consumer<ZdsConnection> onClosed, int number) {
    this.socket = socket;
    this.settings = settings;
    this.snapshot = snapshot;
    this.onClosed = onClosed;
    this.name = "zds-connection-" + number;
    this.thread = Thread.ofPlatform().name(name).daemon(true).unstarted(this::run);
  }

  void start() {
    thread.start();
  }

  /** Completes when ztunnel has acked SnapshotSent on this connection. */
  CompletableFuture<Void> snapshotAcked() {
    return snapshotAcked;
  }

  /** Queues a request; the future completes when ztunnel acks it. */
  CompletableFuture<Void> submit(WorkloadRequest request, @Nullable PodEntry netnsOf) {
    CompletableFuture<Void> done = new CompletableFuture<>();
    int size = request.getSerializedSize();
    if (size > MAX_MESSAGE) {
      done.completeExceptionally(new ZdsException("ZDS message of " + size + " bytes exceeds " + MAX_MESSAGE));
      return done;
    }
    queue.add(new Task(request, netnsOf, done));
    if (closed) {
      failQueued(new ZdsException(name + " is closed"));
    }
    return done;
  }

  void close() {
    closed = true;
    try {
      socket.close();
    } catch (IOException e) {
      log.debug("{}: close: {}", name, e.toString());
    }
  }

  private void run() {
    ZdsException failure = new ZdsException(name + " closed");
    try {
      socket.setTimeouts(settings.helloTimeout(), settings.ackTimeout());
      ZdsHello hello = ZdsHello.parseFrom(receive("ZdsHello"));
      log.info("{}: ztunnel connected, hello version {}", name, hello.getVersion());
      socket.setTimeouts(settings.ackTimeout(), settings.ackTimeout());
      List<PodEntry> pods = snapshot.get();
      for (PodEntry pod : pods) {
        String error = exchange(add(pod), pod);
        if (error == null) {
          log.debug("{}: pod {} removed while sending the snapshot", name, pod.uid);
        } else if (!error.isEmpty()) {
          log.warn("{}: ztunnel NACKed snapshot add of pod {}: {}", name, pod.uid, error);
        }
      }
      String error = exchange(WorkloadRequest.newBuilder().setSnapshotSent(SnapshotSent.getDefaultInstance()).build(), null);
      if (error != null && !error.isEmpty()) {
        throw new ZdsException("ztunnel NACKed SnapshotSent: " + error);
      }
      log.info("{}: snapshot of {} pods acked", name, pods.size());
      snapshotAcked.complete(null);
      while (!closed) {
        Task task = queue.poll(settings.keepaliveInterval().toNanos(), TimeUnit.NANOSECONDS);
        if (task == null) {
          keepalive();
        } else {
          serve(task);
        }
      }
    } catch (IOException e) {
      if (!closed) {
        log.warn("{}: dropping the ztunnel connection: {}", name, e.toString());
      }
      failure = new ZdsException(name + " dropped: " + e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (RuntimeException e) {
      log.error("{}: unexpected failure, dropping the connection", name, e);
      failure = new ZdsException(name + " failed: " + e, e);
    } finally {
      close();
      snapshotAcked.completeExceptionally(failure);
      failQueued(failure);
      onClosed.accept(this);
    }
  }

  private void serve(Task task) throws IOException {
    String error;
    try {
      error = exchange(task.request(), task.netnsOf());
    } catch (IOException e) {
      task.done().completeExceptionally(new ZdsException(describe(task.request()) + ": " + e.getMessage(), e));
      throw e;
    }
    if (error == null) {
      task.done().completeExceptionally(new ZdsException(describe(task.request()) + ": pod removed before it was sent"));
    } else if (error.isEmpty()) {
      task.done().complete(null);
    } else {
      log.warn("{}: ztunnel NACKed {}: {}", name, describe(task.request()), error);
      task.done().completeExceptionally(new ZdsException("ztunnel NACKed " + describe(task.request()) + ": " + error));
    }
  }

  /** Sends one request and reads its ack: the ack's error text ("" = OK), or null when not sent. */
  private @Nullable String exchange(WorkloadRequest request, @Nullable PodEntry netnsOf) throws IOException {
    byte[] bytes = request.toByteArray();
    if (netnsOf != null) {
      if (!netnsOf.sendWithNetns(socket, bytes)) {
        return null;
      }
    } else {
      socket.send(bytes, OptionalInt.empty());
    }
    byte[] reply;
    try {
      reply = receive("ack of " + describe(request));
    } catch (SocketTimeoutException e) {
      throw new ZdsException("no ack for " + describe(request) + " within " + settings.ackTimeout(), e);
    }
    WorkloadResponse response = WorkloadResponse.parseFrom(reply);
    if (!response.hasAck()) {
      throw new ZdsException("protocol error: expected an ack for " + describe(request) + ", got " + response);
    }
    return response.getAck().getError();
  }

  private void keepalive() throws IOException {
    socket.setTimeouts(settings.keepaliveProbe(), settings.ackTimeout());
    try {
      byte[] unexpected = receive("keepalive");
      throw new ZdsException("protocol error: unsolicited message of " + unexpected.length + " bytes from ztunnel");
    } catch (SocketTimeoutException alive) {
      socket.setTimeouts(settings.ackTimeout(), settings.ackTimeout());
    }
  }

  private byte[] receive(String what) throws IOException {
    Optional<SeqPacketSocket.Packet> packet = socket.receive(MAX_MESSAGE);
    if (packet.isEmpty()) {
      throw new ZdsException("ztunnel closed the connection (waiting for " + what + ")");
    }
    OptionalInt fd = packet.get().fd();
    if (fd.isPresent()) {
      SeqPacketSocket.closeFd(fd.getAsInt());
      throw new ZdsException("protocol error: ztunnel sent a file descriptor with " + what);
    }
    return packet.get().data();
  }

  private void failQueued(ZdsException failure) {
    Task t;
    while ((t = queue.poll()) != null) {
      t.done().completeExceptionally(failure);
    }
  }

  static WorkloadRequest add(PodEntry pod) {
    return WorkloadRequest.newBuilder()
        .setAdd(AddWorkload.newBuilder().setUid(pod.uid).setWorkloadInfo(pod.info)).build();
  }

  static String describe(WorkloadRequest r) {
    return switch (r.getPayloadCase()) {
      case ADD -> "AddWorkload " + r.getAdd().getUid();
      case DEL -> "DelWorkload " + r.getDel().getUid();
      case KEEP -> "KeepWorkload " + r.getKeep().getUid();
      case SNAPSHOT_SENT -> "SnapshotSent";
      case PAYLOAD_NOT_SET -> "empty WorkloadRequest";
    };
  }

  @Override
  public String toString() {
    return name;
  }
}
