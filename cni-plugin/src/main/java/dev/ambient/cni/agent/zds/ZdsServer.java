package dev.ambient.cni.agent.zds;

import dev.ambient.net.SeqPacketSocket;
import dev.ambient.xds.api.zds.DelWorkload;
import dev.ambient.xds.api.zds.WorkloadInfo;
import dev.ambient.xds.api.zds.WorkloadRequest;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The ZDS server of the node agent (spec istio-ambient.md §2.9): listens on a SOCK_SEQPACKET socket
 * ({@code /var/run/ztunnel/ztunnel.sock} by default, {@code ZTUNNEL_UDS_ADDRESS}) and tells the
 * connected ztunnel which pods to serve, passing each pod's network namespace as a descriptor.
 *
 * <p>The server keeps every enrolled pod with an open netns descriptor. A ztunnel that connects
 * gets the full snapshot, then {@code SnapshotSent}, then later adds and deletes; every message
 * waits for ztunnel's ack (see {@link ZdsConnection}). Several ztunnels may be connected at once (a
 * rolling upgrade with surge, spec §2.9): every connection is kept until it drops; new pods go only
 * to the most recently connected one, deletes go to all of them, and each new connection gets the
 * full snapshot. Accepts are spaced 200 ms apart (upstream's 5 per second).
 *
 * <p>{@link #open} binds the socket without accepting (connections wait in the backlog) so that
 * the agent can rebuild its pod set first: a ztunnel served an empty snapshot would drop every pod
 * it holds. {@link #serve()} starts accepting; {@link #start} does both.
 *
 * <p>{@link #addPod} returns a future that completes when ztunnel has acked the pod, which is what
 * the CNI ADD waits for; it fails with a {@link ZdsException} on a NACK, a timeout, a lost
 * connection, or when no ztunnel is connected (the pod stays enrolled and is part of the next
 * snapshot, as upstream).
 */
public final class ZdsServer implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(ZdsServer.class);
  public static final Path DEFAULT_SOCKET = Path.of("/var/run/ztunnel/ztunnel.sock");

  /** Timeouts: hello and each ack (5 s upstream), idle time before a keepalive probe, the probe's read. */
  record Settings(Duration helloTimeout, Duration ackTimeout, Duration keepaliveInterval, Duration keepaliveProbe,
                  Duration acceptSpacing) {
    static final Settings DEFAULTS = new Settings(Duration.ofSeconds(5), Duration.ofSeconds(5),
        Duration.ofSeconds(5), Duration.ofMillis(10), Duration.ofMillis(200));
  }

  private final Path path;
  private final Settings settings;
  private final SeqPacketSocket listener;
  private final Thread acceptor;
  private final Map<String, PodEntry> pods = new LinkedHashMap<>(); // guarded by this
  private final List<ZdsConnection> live = new ArrayList<>(); // oldest first; guarded by this
  private int connections; // guarded by this
  private volatile boolean closed;

  private ZdsServer(Path path, Settings settings, SeqPacketSocket listener) {
    this.path = path;
    this.settings = settings;
    this.listener = listener;
    this.acceptor = Thread.ofPlatform().name("zds-accept").daemon(true).unstarted(this::acceptLoop);
  }

  /** Listens on {@code socket} (creating its directory, replacing a stale socket file). */
  public static ZdsServer start(Path socket) throws IOException {
    return start(socket, Settings.DEFAULTS);
  }

  static ZdsServer start(Path socket, Settings settings) throws IOException {
    return open(socket, settings).serve();
  }

  /** Binds {@code socket} (creating its directory, replacing a stale socket file) but does not accept yet. */
  public static ZdsServer open(Path socket) throws IOException {
    return open(socket, Settings.DEFAULTS);
  }

  static ZdsServer open(Path socket, Settings settings) throws IOException {
    Path dir = socket.toAbsolutePath().getParent();
    if (dir != null) {
      Files.createDirectories(dir);
    }
    ZdsServer server = new ZdsServer(socket, settings, SeqPacketSocket.listen(socket, 16));
    log.info("ZDS server bound to {}", socket);
    return server;
  }

  /** Starts accepting ztunnel connections (once; later calls do nothing). */
  public synchronized ZdsServer serve() {
    if (acceptor.getState() == Thread.State.NEW && !closed) {
      acceptor.start();
      log.info("ZDS server accepting on {}", path);
    }
    return this;
  }

  /**
   * Enrols a pod (replacing an earlier entry for the same uid) and sends it to the most recently
   * connected ztunnel. The netns is opened now and kept open until {@link #removePod}.
   */
  public CompletableFuture<Void> addPod(String uid, WorkloadInfo info, Path netns) {
    if (uid.isEmpty()) {
      return CompletableFuture.failedFuture(new IllegalArgumentException("pod uid must not be empty"));
    }
    PodEntry entry;
    try {
      entry = PodEntry.open(uid, info, netns);
    } catch (IOException e) {
      return CompletableFuture.failedFuture(new ZdsException("pod " + uid + ": cannot open netns " + netns + ": " + e.getMessage(), e));
    }
    PodEntry old;
    ZdsConnection conn;
    synchronized (this) {
      if (closed) {
        entry.close();
        return CompletableFuture.failedFuture(new ZdsException("ZDS server is closed"));
      }
      old = pods.put(uid, entry);
      conn = live.isEmpty() ? null : live.getLast();
    }
    if (old != null) {
      old.close();
    }
    if (conn == null) {
      return CompletableFuture.failedFuture(new ZdsException("no ztunnel connected on " + path
          + "; pod " + uid + " stays enrolled and is sent when one connects"));
    }
    return conn.submit(ZdsConnection.add(entry), entry);
  }

  /**
   * Un-enrols a pod: closes its netns descriptor and sends DelWorkload to every connected ztunnel;
   * completes when all of them acked (at once when none is connected).
   */
  public CompletableFuture<Void> removePod(String uid) {
    PodEntry entry;
    List<ZdsConnection> conns;
    synchronized (this) {
      entry = pods.remove(uid);
      conns = List.copyOf(live);
    }
    if (entry != null) {
      entry.close();
    }
    WorkloadRequest del = WorkloadRequest.newBuilder().setDel(DelWorkload.newBuilder().setUid(uid)).build();
    return CompletableFuture.allOf(conns.stream().map(c -> c.submit(del, null)).toArray(CompletableFuture[]::new));
  }

  /** How many ztunnel connections are open (acked snapshot or not). */
  public synchronized int connections() {
    return live.size();
  }

  /** The uids of the enrolled pods. */
  public synchronized Set<String> pods() {
    return Set.copyOf(pods.keySet());
  }

  /**
   * Whether the newest ztunnel connection has acked its snapshot (the {@code ztunnel_connected}
   * gauge): that is the one new pods go to.
   */
  public boolean isConnected() {
    ZdsConnection c;
    synchronized (this) {
      c = live.isEmpty() ? null : live.getLast();
    }
    return c != null && c.snapshotAcked().isDone() && !c.snapshotAcked().isCompletedExceptionally();
  }

  /** Completes when the newest connection's snapshot is acked; for tests and readiness. */
  synchronized CompletableFuture<Void> currentSnapshot() {
    return live.isEmpty() ? CompletableFuture.failedFuture(new ZdsException("no ztunnel connected"))
        : live.getLast().snapshotAcked();
  }

  private void acceptLoop() {
    while (!closed) {
      SeqPacketSocket socket;
      try {
        socket = listener.accept();
      } catch (IOException e) {
        if (!closed) {
          log.warn("ZDS accept on {} failed: {}", path, e.toString());
          sleep(settings.acceptSpacing());
        }
        continue;
      }
      ZdsConnection conn;
      int others;
      synchronized (this) {
        if (closed) {
          closeQuietly(socket);
          return;
        }
        conn = new ZdsConnection(socket, settings, this::snapshot, this::connectionClosed, ++connections);
        others = live.size();
        live.add(conn);
      }
      if (others > 0) {
        log.info("{}: another ztunnel connected ({} older kept); new pods now go to it", conn, others);
      }
      conn.start();
      sleep(settings.acceptSpacing());
    }
  }

  private synchronized List<PodEntry> snapshot() {
    return new ArrayList<>(pods.values());
  }

  private synchronized void connectionClosed(ZdsConnection conn) {
    live.remove(conn);
  }

  @Override
  public void close() throws IOException {
    List<ZdsConnection> conns;
    List<PodEntry> entries;
    synchronized (this) {
      if (closed) {
        return;
      }
      closed = true;
      conns = List.copyOf(live);
      live.clear();
      entries = new ArrayList<>(pods.values());
      pods.clear();
    }
    listener.close();
    conns.forEach(ZdsConnection::close);
    entries.forEach(PodEntry::close);
    try {
      if (acceptor.getState() != Thread.State.NEW) {
        acceptor.join(Duration.ofSeconds(5));
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    Files.deleteIfExists(path);
  }

  private static void sleep(Duration d) {
    try {
      Thread.sleep(d);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static void closeQuietly(SeqPacketSocket s) {
    try {
      s.close();
    } catch (IOException ignored) {
      // discarding it
    }
  }
}
