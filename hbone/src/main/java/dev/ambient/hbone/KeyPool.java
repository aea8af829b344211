package dev.ambient.hbone;

import io.netty.channel.EventLoop;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;

/**
 * The connections of one {@link PoolKey} (spec §4.6), on one event loop when the pool has one.
 *
 * <ul>
 *   <li>A request takes a slot on any usable connection below its stream cap.</li>
 *   <li>Otherwise it waits for the one connection being established for this key; a key never has
 *       more than one handshake in flight, so a burst of requests does not become a burst of
 *       handshakes. When that connection is up it serves as many waiters as its cap allows; if
 *       waiters remain, the next connection is started.</li>
 *   <li>A failed connect fails every waiter with its error.</li>
 *   <li>A connection without streams for the idle timeout is closed and removed.</li>
 * </ul>
 * All state is guarded by {@code this}; futures are completed outside the lock.
 */
final class KeyPool {
  private final HboneClient client;
  private final PoolKey key;
  private final @Nullable EventLoop loop;
  private final List<PooledConnection> connections = new ArrayList<>(2);
  private final ArrayDeque<CompletableFuture<PooledConnection>> waiters = new ArrayDeque<>();
  private boolean connecting;
  private boolean retired;

  KeyPool(HboneClient client, PoolKey key, @Nullable EventLoop loop) {
    this.client = client;
    this.key = key;
    this.loop = loop;
  }

  /** A connection with a reserved slot, or null when this pool was retired (ask the client again). */
  @Nullable CompletableFuture<PooledConnection> acquire(HboneConnectRequest request) {
    boolean start;
    CompletableFuture<PooledConnection> waiter;
    synchronized (this) {
      if (retired) {
        return null;
      }
      for (PooledConnection c : connections) {
        if (tryReserve(c)) {
          return CompletableFuture.completedFuture(c);
        }
      }
      waiter = new CompletableFuture<>();
      waiters.add(waiter);
      start = !connecting;
      connecting = true;
    }
    if (start) {
      connect(request);
    }
    return waiter;
  }

  private void connect(HboneConnectRequest request) {
    client.connect(request, this).whenComplete((c, err) -> onConnected(request, c, err));
  }

  private void onConnected(HboneConnectRequest request, @Nullable PooledConnection conn, @Nullable Throwable err) {
    List<CompletableFuture<PooledConnection>> served = new ArrayList<>();
    List<CompletableFuture<PooledConnection>> failed = new ArrayList<>();
    boolean again = false;
    synchronized (this) {
      connecting = false;
      if (conn == null) {
        failed.addAll(waiters);
        waiters.clear();
        maybeRetire();
      } else {
        connections.add(conn);
        while (!waiters.isEmpty() && tryReserve(conn)) {
          served.add(waiters.poll());
        }
        if (conn.active == 0) {
          scheduleIdle(conn);
        }
        if (!waiters.isEmpty()) {
          again = connecting = true;
        }
      }
    }
    for (CompletableFuture<PooledConnection> w : served) {
      if (!w.complete(conn)) {
        release(conn);
      }
    }
    Throwable cause = err instanceof java.util.concurrent.CompletionException ce && ce.getCause() != null ? ce.getCause() : err;
    for (CompletableFuture<PooledConnection> w : failed) {
      w.completeExceptionally(cause);
    }
    if (again) {
      connect(request);
    }
  }

  /** Gives a stream slot back (stream closed or never opened). */
  void release(PooledConnection conn) {
    CompletableFuture<PooledConnection> next = null;
    synchronized (this) {
      conn.active--;
      if (!waiters.isEmpty() && tryReserve(conn)) {
        next = waiters.poll();
      } else if (conn.active == 0 && connections.contains(conn)) {
        scheduleIdle(conn);
      }
    }
    if (next != null && !next.complete(conn)) {
      release(conn);
    }
  }

  /** The connection closed or received GOAWAY: no new streams on it. */
  void remove(PooledConnection conn) {
    synchronized (this) {
      connections.remove(conn);
      maybeRetire();
    }
  }

  synchronized int connectionCount() {
    return connections.size();
  }

  /** Closes every connection and fails the waiters (client shutdown); returns the close futures. */
  List<io.netty.channel.ChannelFuture> shutdown() {
    List<CompletableFuture<PooledConnection>> failed;
    List<PooledConnection> conns;
    synchronized (this) {
      retired = true;
      failed = new ArrayList<>(waiters);
      waiters.clear();
      conns = new ArrayList<>(connections);
      connections.clear();
    }
    failed.forEach(w -> w.completeExceptionally(HboneException.closed("HBONE client")));
    return conns.stream().map(c -> c.channel.close()).toList();
  }

  // Guarded by this.
  private boolean tryReserve(PooledConnection c) {
    if (c.usable() && c.active < c.streamCap()) {
      c.active++;
      c.idleGeneration++;
      if (c.idleTimer != null) {
        c.idleTimer.cancel(false);
        c.idleTimer = null;
      }
      return true;
    }
    return false;
  }

  // Guarded by this.
  private void scheduleIdle(PooledConnection c) {
    long generation = ++c.idleGeneration;
    long nanos = client.config().idleTimeout().toNanos();
    c.idleTimer = c.channel.eventLoop().schedule(() -> evictIfIdle(c, generation), nanos, TimeUnit.NANOSECONDS);
  }

  private void evictIfIdle(PooledConnection c, long generation) {
    synchronized (this) {
      if (c.active != 0 || c.idleGeneration != generation) {
        return;
      }
      connections.remove(c);
      maybeRetire();
    }
    c.channel.close();
  }

  // Guarded by this.
  private void maybeRetire() {
    if (connections.isEmpty() && waiters.isEmpty() && !connecting && !retired) {
      retired = true;
      client.retire(this);
    }
  }

  HboneClient client() {
    return client;
  }

  PoolKey key() {
    return key;
  }

  /** The event loop every connection of this pool is on, or null for any of the client's loops. */
  @Nullable EventLoop loop() {
    return loop;
  }
}
