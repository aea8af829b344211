package dev.ambient.ztunnel.admin;

import dev.ambient.net.Transport;
import io.netty.channel.EventLoopGroup;
import io.netty.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;

/**
 * The one event loop the process's admin, metrics and readiness listeners share: one thread and one
 * ring instead of one per listener (docs/performance.md, "ztunnel idle RSS"). Started by the first
 * {@link #acquire}, shut down when the last user {@link #release}s it. These listeners serve small
 * control requests; the data path never runs here.
 */
final class SharedHttpLoop {
  static final String THREAD_NAME = "ztunnel-http";
  private static final Object LOCK = new Object();
  private static @Nullable EventLoopGroup group;
  private static int users;

  private SharedHttpLoop() {}

  static EventLoopGroup acquire() {
    synchronized (LOCK) {
      EventLoopGroup g = group;
      if (g == null) {
        g = Transport.defaultTransport().newEventLoopGroup(1, THREAD_NAME);
        group = g;
      }
      users++;
      return g;
    }
  }

  /** Gives {@code g} back; the last user shuts it down and waits up to a few seconds (not from the loop itself). */
  static void release(EventLoopGroup g) {
    Future<?> stopped = null;
    synchronized (LOCK) {
      if (g != group) {
        return;
      }
      if (--users == 0) {
        stopped = g.shutdownGracefully(0, 2, TimeUnit.SECONDS);
        group = null;
      }
    }
    if (stopped != null) {
      stopped.awaitUninterruptibly(5, TimeUnit.SECONDS);
    }
  }
}
