package dev.ambient.ztunnel.admin;

import static java.util.Objects.requireNonNull;

import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.function.Supplier;

/**
 * ztunnel's admin API (spec §9.5), on localhost only: 127.0.0.1 and, when the host has it, ::1, on
 * one port ({@code proxyAdminPort}, default 15000).
 *
 * <ul>
 *   <li>{@code /} (any method): an HTML index;
 *   <li>{@code /config_dump} (any method): {@link ConfigDump} JSON;
 *   <li>{@code /logging} (POST): show ({@code no parameters}), change ({@code ?level=debug},
 *       {@code ?level=access=debug,dev.ambient=info}) or {@code ?reset} the logback levels; other
 *       methods 405 with a usage text;
 *   <li>{@code /quitquitquit} (POST): starts the graceful shutdown once, waits for it at most the
 *       termination deadline, replies {@code shutdown now}; other methods 405.
 * </ul>
 * Other paths are 404 (the pprof endpoints are not implemented). The shutdown future should
 * complete before this server is closed, or the reply is lost.
 */
public final class AdminServer implements AutoCloseable {
  public static final int DEFAULT_PORT = 15000;

  private final HttpListener listener;

  private AdminServer(HttpListener listener) {
    this.listener = listener;
  }

  /**
   * Listens on 127.0.0.1:{@code port} and [::1]:{@code port} (if the host has ::1; port 0 = one
   * ephemeral port for both).
   *
   * @param shutdown starts the graceful drain and completes when it is over
   * @param terminationDeadline how long {@code /quitquitquit} waits for {@code shutdown}
   * @throws AdminBindException naming the address and port when a bind fails
   */
  public static AdminServer start(int port, ConfigDump.Sources dump, Supplier<? extends CompletableFuture<?>> shutdown,
      Duration terminationDeadline) {
    return start(loopbackAddresses(port), dump, LogLevels.ofProcess(), shutdown, terminationDeadline);
  }

  static AdminServer start(List<InetSocketAddress> binds, ConfigDump.Sources dump, LogLevels logLevels,
      Supplier<? extends CompletableFuture<?>> shutdown, Duration terminationDeadline) {
    requireNonNull(dump, "dump");
    for (InetSocketAddress b : binds) {
      if (!b.getAddress().isLoopbackAddress()) {
        throw new IllegalArgumentException("the admin API listens on loopback only, not on " + b);
      }
    }
    AdminRoutes routes = new AdminRoutes(() -> ConfigDump.toJson(dump), logLevels, shutdown, terminationDeadline);
    return new AdminServer(HttpListener.start("admin server", binds, false, routes));
  }

  /** 127.0.0.1 and, when some interface has it, ::1. */
  static List<InetSocketAddress> loopbackAddresses(int port) {
    if (port < 0 || port > 0xFFFF) {
      throw new IllegalArgumentException("admin port " + port + " is not 0..65535");
    }
    List<InetSocketAddress> out = new ArrayList<>();
    out.add(new InetSocketAddress(v4Loopback(), port));
    InetAddress v6 = v6Loopback();
    if (hasAddress(v6)) {
      out.add(new InetSocketAddress(v6, port));
    }
    return out;
  }

  public InetSocketAddress localAddress() {
    return listener.localAddresses().getFirst();
  }

  /** Every bound address (127.0.0.1 first). */
  public List<InetSocketAddress> localAddresses() {
    return listener.localAddresses();
  }

  @Override
  public void close() {
    listener.close();
  }

  private static InetAddress v4Loopback() {
    return InetAddress.ofLiteral("127.0.0.1");
  }

  private static InetAddress v6Loopback() {
    return InetAddress.ofLiteral("::1");
  }

  private static boolean hasAddress(InetAddress a) {
    try {
      return a instanceof Inet6Address && NetworkInterface.getByInetAddress(a) != null;
    } catch (SocketException e) {
      return false;
    }
  }
}
