package dev.ambient.ztunnel.proxy;

import static java.util.Objects.requireNonNull;

import dev.ambient.net.LinuxSockets;
import dev.ambient.net.Transport;
import dev.ambient.ztunnel.ZtunnelConfig;
import dev.ambient.ztunnel.ZtunnelConfig.OrigSrc;
import io.netty.bootstrap.AbstractBootstrap;
import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.epoll.EpollChannelOption;
import io.netty.channel.socket.nio.NioChannelOption;
import io.netty.channel.unix.UnixChannel;
import io.netty.channel.uring.IoUringChannelOption;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import jdk.net.ExtendedSocketOptions;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@link Sockets} for Linux (spec §5.0). Listeners try {@code IP_TRANSPARENT} per {@code
 * ENABLE_ORIG_SRC} (unset: best effort; {@code true}: required, the bind fails without it; {@code
 * false}: not tried). Outgoing sockets get TCP_NODELAY, keepalive with the configured times, {@code
 * SO_MARK} = the packet mark when one is configured and, when spoofing, {@code IP_TRANSPARENT} +
 * {@code IP_FREEBIND} and a bind to the client address (port 0).
 *
 * <p>Options that need the descriptor are set from a channel initializer, which runs once the
 * channel is registered and before its bind/connect; the customizer wraps the bootstrap's handler
 * rather than replacing it. On NIO those options cannot be set: one warning, then plain sockets.
 */
public final class LinuxProxySockets implements Sockets {
  private static final Logger log = LoggerFactory.getLogger(LinuxProxySockets.class);
  private static final AtomicBoolean NIO_WARNED = new AtomicBoolean();

  private final Transport transport;
  private final Optional<Integer> mark;
  private final OrigSrc origSrc;
  private final ZtunnelConfig.Keepalive keepalive;
  /** Whether the last listener got IP_TRANSPARENT; starts with the probe's answer. */
  private volatile boolean transparent;

  LinuxProxySockets(Transport transport, Optional<Integer> mark, OrigSrc origSrc, ZtunnelConfig.Keepalive keepalive) {
    this.transport = requireNonNull(transport, "transport");
    this.mark = requireNonNull(mark, "mark");
    this.origSrc = requireNonNull(origSrc, "origSrc");
    this.keepalive = requireNonNull(keepalive, "keepalive");
    this.transparent = origSrc != OrigSrc.DISABLED && probeTransparent(transport);
  }

  /**
   * Socket options from {@code config}: packet mark, {@code ENABLE_ORIG_SRC}, keepalive.
   *
   * <p>Unset {@code ENABLE_ORIG_SRC} means "spoof when possible" only in shared mode, where the
   * in-pod rules route the replies to a spoofed source back to ztunnel (mark, {@code ip rule} to
   * table 100). A dedicated-mode ztunnel has no such rules: a spoofed connection to the local app
   * would send its SYN-ACK to the real client node and time out, so there it spoofs only when asked
   * ({@code ENABLE_ORIG_SRC=true}). Decision 0009.
   */
  public static LinuxProxySockets create(ZtunnelConfig config, Transport transport) {
    return new LinuxProxySockets(transport, config.packetMark(), effectiveOrigSrc(config), config.keepalive());
  }

  static OrigSrc effectiveOrigSrc(ZtunnelConfig config) {
    return config.origSrc() == OrigSrc.AUTO && config.proxyMode() == ZtunnelConfig.ProxyMode.DEDICATED
        ? OrigSrc.DISABLED : config.origSrc();
  }

  @Override
  public Consumer<ServerBootstrap> listener() {
    return b -> {
      // A restarted ztunnel binds again while its old connections sit in TIME_WAIT.
      b.option(ChannelOption.SO_REUSEADDR, true);
      applyKeepalive(b::childOption);
      b.childOption(ChannelOption.TCP_NODELAY, true);
      if (origSrc == OrigSrc.DISABLED) {
        return;
      }
      if (!transport.isNative()) {
        warnNio();
        if (origSrc == OrigSrc.ENABLED) {
          throw new IllegalStateException("ENABLE_ORIG_SRC=true needs IP_TRANSPARENT, not available on the NIO transport");
        }
        return;
      }
      wrapHandler(b, ch -> {
        // SOL_IP/IP_TRANSPARENT also applies to the dual-stack IPv6 sockets native transports open.
        boolean ok = LinuxSockets.trySetTransparent(fd(ch), false);
        transparent = ok;
        if (!ok) {
          if (origSrc == OrigSrc.ENABLED) {
            throw new IOException("ENABLE_ORIG_SRC=true but IP_TRANSPARENT is not permitted (needs CAP_NET_ADMIN)");
          }
          log.debug("IP_TRANSPARENT not permitted on listener {}: original source addresses will not be kept", ch);
        }
      });
    };
  }

  @Override
  public boolean transparent() {
    return transparent;
  }

  @Override
  public Consumer<Bootstrap> outgoing(@Nullable InetAddress spoofSource) {
    return b -> {
      b.option(ChannelOption.TCP_NODELAY, true);
      applyKeepalive(b::option);
      if (!transport.isNative()) {
        if (mark.isPresent() || spoofSource != null) {
          warnNio();
        }
        return;
      }
      @Nullable InetAddress spoof = spoofSource;
      if (spoof != null && !transparent) {
        log.debug("not spoofing source {}: IP_TRANSPARENT is not available", spoof);
        spoof = null;
      }
      if (mark.isEmpty() && spoof == null && !transparent) {
        return;
      }
      @Nullable InetAddress requested = spoof;
      wrapHandler(b, ch -> {
        int fd = fd(ch);
        if (mark.isPresent()) {
          LinuxSockets.setMark(fd, mark.get());
        }
        // A bind asked for here, or set on the bootstrap by its owner after this customizer ran
        // (the HBONE pool's source IP), may be a foreign address: it needs IP_TRANSPARENT.
        @Nullable InetAddress bindTo = requested != null ? requested : boundAddress(b);
        if (bindTo != null && transparent) {
          if (!LinuxSockets.trySetTransparent(fd, bindTo instanceof Inet6Address)) {
            throw new IOException("IP_TRANSPARENT not permitted: cannot bind to client address " + bindTo.getHostAddress());
          }
          LinuxSockets.setFreebind(fd);
        }
      });
      if (requested != null) {
        b.localAddress(new InetSocketAddress(requested, 0));
      }
    };
  }

  private static @Nullable InetAddress boundAddress(Bootstrap b) {
    return b.config().localAddress() instanceof InetSocketAddress i && i.getAddress() != null
        && !i.getAddress().isAnyLocalAddress() ? i.getAddress() : null;
  }

  /** TCP keepalive and its times ({@code KEEPALIVE_*}), and TCP_USER_TIMEOUT when enabled. */
  private void applyKeepalive(OptionSink sink) {
    sink.set(ChannelOption.SO_KEEPALIVE, keepalive.enabled());
    if (!keepalive.enabled()) {
      return;
    }
    int idle = seconds(keepalive.time());
    int interval = seconds(keepalive.interval());
    int count = keepalive.retries();
    Optional<Integer> userTimeout = keepalive.userTimeout().map(d -> (int) Math.min(Integer.MAX_VALUE, d.toMillis()));
    switch (transport) {
      case EPOLL -> {
        sink.set(EpollChannelOption.TCP_KEEPIDLE, idle);
        sink.set(EpollChannelOption.TCP_KEEPINTVL, interval);
        sink.set(EpollChannelOption.TCP_KEEPCNT, count);
        userTimeout.ifPresent(t -> sink.set(EpollChannelOption.TCP_USER_TIMEOUT, t));
      }
      case IO_URING -> {
        sink.set(IoUringChannelOption.TCP_KEEPIDLE, idle);
        sink.set(IoUringChannelOption.TCP_KEEPINTVL, interval);
        sink.set(IoUringChannelOption.TCP_KEEPCNT, count);
        userTimeout.ifPresent(t -> sink.set(IoUringChannelOption.TCP_USER_TIMEOUT, t));
      }
      case NIO -> {
        sink.set(NioChannelOption.of(ExtendedSocketOptions.TCP_KEEPIDLE), idle);
        sink.set(NioChannelOption.of(ExtendedSocketOptions.TCP_KEEPINTERVAL), interval);
        sink.set(NioChannelOption.of(ExtendedSocketOptions.TCP_KEEPCOUNT), count);
      }
    }
  }

  @FunctionalInterface
  private interface OptionSink {
    <T> void set(ChannelOption<T> option, T value);
  }

  @FunctionalInterface
  private interface FdAction {
    void apply(Channel ch) throws IOException;
  }

  /**
   * Runs {@code action} on each new channel once it is registered (before bind/connect), then
   * installs the handler the bootstrap had.
   */
  private static void wrapHandler(AbstractBootstrap<?, ?> b, FdAction action) {
    @Nullable ChannelHandler inner = b.config().handler();
    b.handler(new ChannelInitializer<Channel>() {
      @Override
      protected void initChannel(Channel ch) throws IOException {
        action.apply(ch);
        if (inner != null) {
          ch.pipeline().addLast(inner);
        }
      }
    });
  }

  /** The descriptor of a native (epoll / io_uring) channel. */
  static int fd(Channel ch) {
    if (ch instanceof UnixChannel u) {
      return u.fd().intValue();
    }
    throw new IllegalArgumentException("not a native channel: " + ch.getClass().getName());
  }

  private static int seconds(Duration d) {
    return (int) Math.max(1, Math.min(Integer.MAX_VALUE, d.toSeconds()));
  }

  private static void warnNio() {
    if (NIO_WARNED.compareAndSet(false, true)) {
      log.warn("the NIO transport cannot set SO_MARK or IP_TRANSPARENT: packet mark and original source are not applied");
    }
  }

  /** Whether IP_TRANSPARENT can be set here (CAP_NET_ADMIN), tried on a fresh unconnected socket. */
  private static boolean probeTransparent(Transport transport) {
    if (!transport.isNative()) {
      return false;
    }
    Channel ch;
    try {
      ch = transport.socketChannel().getConstructor().newInstance();
    } catch (ReflectiveOperationException | RuntimeException e) {
      log.debug("could not create a probe socket for IP_TRANSPARENT", e);
      return false;
    }
    try {
      return LinuxSockets.trySetTransparent(fd(ch), false);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } finally {
      ch.unsafe().closeForcibly();
    }
  }
}
