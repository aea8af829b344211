package dev.ambient.ztunnel.proxy;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import java.net.InetAddress;
import java.util.function.Consumer;
import org.jspecify.annotations.Nullable;

/**
 * Socket options of the proxy (spec §5.0): listeners try IP_TRANSPARENT; outgoing sockets get
 * TCP_NODELAY, keepalive, the packet mark (0x539) and, when spoofing, IP_TRANSPARENT + IP_FREEBIND
 * and a bind to the client IP. In shared (in-pod) mode an implementation also creates sockets inside
 * the pod's network namespace.
 */
public interface Sockets {
  /** Options for a listener's server bootstrap. */
  Consumer<ServerBootstrap> listener();

  /** Whether listeners got IP_TRANSPARENT, so inbound paths may spoof the client address. */
  boolean transparent();

  /**
   * Options for an outgoing connection.
   *
   * @param spoofSource bind to this client address (IP_TRANSPARENT + IP_FREEBIND), or null for none
   */
  Consumer<Bootstrap> outgoing(@Nullable InetAddress spoofSource);
}
