package dev.ambient.ztunnel.proxy;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;

/**
 * One bound proxy listener (15001, 15006, 15008, SOCKS5) and the connections it accepted. Drain
 * (spec §9.6): stop accepting, let open connections finish (HBONE connections get a graceful
 * GOAWAY), and force-close what is left at the deadline.
 */
public interface ProxyListener extends AutoCloseable {
  /** The bound address (useful with port 0). */
  InetSocketAddress localAddress();

  /** Live connections accepted by this listener (or streams, for HBONE). */
  int activeConnections();

  /** Stops accepting; open connections continue. Idempotent. */
  void stopAccepting();

  /**
   * Stops accepting, waits up to {@code deadline} for open connections to finish, then closes the
   * rest. Completes when nothing is left open.
   */
  CompletableFuture<Void> drain(Duration deadline);

  /** Immediate close of the listener and every connection (pod deleted, tests). */
  @Override
  void close();
}
