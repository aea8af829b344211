package dev.ambient.ztunnel.inpod;

import static java.util.Objects.requireNonNull;

import dev.ambient.net.SeqPacketSocket;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * ztunnel's side of ZDS (spec §7.1–§7.4, istio-ambient.md §2.9): connects to the node agent's
 * SOCK_SEQPACKET socket ({@code INPOD_UDS}), says hello, then receives the snapshot and later
 * changes one packet at a time, hands each to a {@link ZdsHandler} and acks it ({@code Ack.error}
 * empty on success, else the reason). Runs on one dedicated thread with blocking sockets.
 *
 * <p>Failures: a connect that fails is retried forever with backoff (10 ms doubling to 15 s); a
 * hello that cannot be sent likewise (5 ms, jitter 0.2). A read or decode error is acked with the
 * error and the connection is re-made (a new snapshot follows). A protocol error of an incompatible
 * agent (missing workload_info, Keep after the snapshot, a second SnapshotSent) is acked, then the
 * client stops and reports it to {@code onFatal} (ztunnel exits with status 1).
 */
public final class ZdsClient implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(ZdsClient.class);
  static final Duration CONNECT_BACKOFF = Duration.ofMillis(10);
  static final Duration HELLO_BACKOFF = Duration.ofMillis(5);
  static final Duration MAX_BACKOFF = Duration.ofSeconds(15);

  private final Path path;
  private final ZdsHandler handler;
  private final Consumer<ZdsException> onFatal;
  private final Duration maxBackoff;
  private final Thread thread;
  private final CountDownLatch stop = new CountDownLatch(1);
  private volatile @Nullable SeqPacketSocket socket;
  private volatile boolean closed;
  private volatile int connections;
  private long handled; // requests acked; only the client thread touches it

  ZdsClient(Path path, ZdsHandler handler, Consumer<ZdsException> onFatal, Duration maxBackoff) {
    this.path = requireNonNull(path, "path");
    this.handler = requireNonNull(handler, "handler");
    this.onFatal = requireNonNull(onFatal, "onFatal");
    this.maxBackoff = requireNonNull(maxBackoff, "maxBackoff");
    this.thread = Thread.ofPlatform().name("zds-client").daemon(true).unstarted(this::run);
  }

  /**
   * Starts the client thread.
   *
   * @param onFatal called once (from the client thread) on a protocol error; the client has stopped
   */
  public static ZdsClient start(Path uds, ZdsHandler handler, Consumer<ZdsException> onFatal) {
    return start(uds, handler, onFatal, MAX_BACKOFF);
  }

  static ZdsClient start(Path uds, ZdsHandler handler, Consumer<ZdsException> onFatal, Duration maxBackoff) {
    ZdsClient c = new ZdsClient(uds, handler, onFatal, maxBackoff);
    c.thread.start();
    return c;
  }

  /** How many connections said hello so far (diagnostics, tests). */
  int connections() {
    return connections;
  }

  private void run() {
    Duration connectBackoff = CONNECT_BACKOFF;
    Duration helloBackoff = HELLO_BACKOFF;
    while (!closed) {
      SeqPacketSocket s;
      try {
        s = SeqPacketSocket.connect(path);
      } catch (IOException e) {
        log.warn("cannot connect to the node agent at {}, retrying in {} ms (is the node agent healthy?): {}",
            path, connectBackoff.toMillis(), e.getMessage());
        pause(connectBackoff);
        connectBackoff = doubled(connectBackoff);
        continue;
      }
      socket = s;
      if (closed) {
        closeQuietly(s);
        return;
      }
      try {
        s.send(ZdsMessages.hello(), OptionalInt.empty());
      } catch (IOException e) {
        log.warn("ZDS announce error on {}, retrying in {} ms: {}", path, helloBackoff.toMillis(), e.getMessage());
        closeQuietly(s);
        pause(jittered(helloBackoff));
        helloBackoff = doubled(helloBackoff);
        continue;
      }
      helloBackoff = HELLO_BACKOFF;
      connections++;
      long before = handled;
      log.info("connected to the node agent at {}", path);
      handler.connected();
      boolean fatal;
      try {
        fatal = serve(s);
      } finally {
        closeQuietly(s);
        handler.disconnected();
      }
      if (fatal) {
        return;
      }
      // An agent that keeps dropping connections before answering anything gets a growing backoff.
      connectBackoff = handled > before ? CONNECT_BACKOFF : doubled(connectBackoff);
      if (!closed) {
        pause(connectBackoff);
      }
    }
  }

  /** Serves one connection until it ends; true after a protocol error (the client stops). */
  private boolean serve(SeqPacketSocket s) {
    boolean snapshotDone = false;
    while (!closed) {
      Optional<SeqPacketSocket.Packet> packet;
      try {
        packet = s.receive(ZdsMessages.MAX_PACKET);
      } catch (IOException e) {
        if (!closed) {
          log.warn("ZDS read error, reconnecting: {}", e.getMessage());
          trySend(s, "read error: " + e.getMessage());
        }
        return false;
      }
      if (packet.isEmpty()) {
        if (!closed) {
          log.info("the node agent closed the ZDS connection; reconnecting");
        }
        return false;
      }
      ZdsEvent event;
      try {
        event = ZdsMessages.decode(packet.get().data(), packet.get().fd(), snapshotDone);
      } catch (ZdsException e) {
        packet.get().fd().ifPresent(ZdsClient::closeFdQuietly);
        trySend(s, e.getMessage());
        if (e.fatal()) {
          log.error("ZDS protocol error, the node agent is incompatible; stopping: {}", e.getMessage());
          closed = true;
          onFatal.accept(e);
          return true;
        }
        log.warn("bad ZDS message, reconnecting: {}", e.getMessage());
        return false;
      }
      String error = handle(event);
      if (event instanceof ZdsEvent.SnapshotSent) {
        snapshotDone = true;
      }
      try {
        s.send(ZdsMessages.ack(error), OptionalInt.empty());
        handled++;
      } catch (IOException e) {
        if (!closed) {
          log.warn("cannot ack on the ZDS connection, reconnecting: {}", e.getMessage());
        }
        return false;
      }
    }
    return false;
  }

  /** Applies one request; returns the ack's error text ("" for success). */
  private String handle(ZdsEvent event) {
    try {
      return switch (event) {
        case ZdsEvent.Add a -> {
          PodNetns netns;
          try {
            netns = PodNetns.adopt(a.netnsFd());
          } catch (IOException e) {
            yield "pod " + a.uid() + ": unusable netns descriptor: " + e.getMessage();
          }
          yield handler.add(a.uid(), a.info(), netns).orElse("");
        }
        case ZdsEvent.Keep k -> {
          handler.keep(k.uid());
          yield "";
        }
        case ZdsEvent.Del d -> {
          handler.delete(d.uid());
          yield "";
        }
        case ZdsEvent.SnapshotSent s -> {
          handler.snapshotSent();
          yield "";
        }
      };
    } catch (RuntimeException e) {
      log.warn("ZDS {} failed", event, e);
      return "internal error: " + e;
    }
  }

  private void trySend(SeqPacketSocket s, String error) {
    try {
      s.send(ZdsMessages.ack(error.isEmpty() ? "error" : error), OptionalInt.empty());
    } catch (IOException e) {
      log.debug("cannot send the error ack: {}", e.toString());
    }
  }

  private void pause(Duration d) {
    try {
      stop.await(d.toNanos(), TimeUnit.NANOSECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      closed = true;
    }
  }

  private Duration doubled(Duration d) {
    Duration twice = d.multipliedBy(2);
    return twice.compareTo(maxBackoff) > 0 ? maxBackoff : twice;
  }

  private static Duration jittered(Duration d) {
    double factor = 1 + ThreadLocalRandom.current().nextDouble(-0.2, 0.2);
    return Duration.ofNanos((long) (d.toNanos() * factor));
  }

  /** Stops the client: closes the connection (waking the blocked read) and joins the thread. */
  @Override
  public void close() {
    closed = true;
    stop.countDown();
    SeqPacketSocket s = socket;
    if (s != null) {
      closeQuietly(s);
    }
    if (Thread.currentThread() != thread) {
      try {
        thread.join(Duration.ofSeconds(5));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  private static void closeQuietly(SeqPacketSocket s) {
    try {
      s.close();
    } catch (IOException e) {
      log.debug("closing {}: {}", s, e.toString());
    }
  }

  private static void closeFdQuietly(int fd) {
    try {
      SeqPacketSocket.closeFd(fd);
    } catch (IOException e) {
      log.debug("closing fd {}: {}", fd, e.toString());
    }
  }
}
