package dev.ambient.net;

import static java.util.Objects.requireNonNull;

import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.ServerSocketChannel;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.channel.uring.IoUring;
import io.netty.channel.uring.IoUringIoHandler;
import io.netty.channel.uring.IoUringServerSocketChannel;
import io.netty.channel.uring.IoUringSocketChannel;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.util.Locale;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Netty transport the process runs on: io_uring, then epoll, then NIO, whichever is first
 * available, unless overridden with {@code AMBIENT_TRANSPORT} (environment) or
 * {@code ambient.transport} (system property). The choice is logged once at start-up.
 */
public enum Transport {
  IO_URING("io_uring"),
  EPOLL("epoll"),
  NIO("nio");

  private static final Logger log = LoggerFactory.getLogger(Transport.class);
  public static final String ENV = "AMBIENT_TRANSPORT";
  public static final String PROPERTY = "ambient.transport";

  private final String label;

  Transport(String label) {
    this.label = label;
  }

  /** The name used in logs and in the override ({@code io_uring}, {@code epoll}, {@code nio}). */
  public String label() {
    return label;
  }

  /** Whether this transport can run here; {@link #unavailabilityCause()} says why not. */
  public boolean isAvailable() {
    return switch (this) {
      case IO_URING -> IoUring.isAvailable();
      case EPOLL -> Epoll.isAvailable();
      case NIO -> true;
    };
  }

  public Optional<Throwable> unavailabilityCause() {
    return Optional.ofNullable(switch (this) {
      case IO_URING -> IoUring.unavailabilityCause();
      case EPOLL -> Epoll.unavailabilityCause();
      case NIO -> null;
    });
  }

  /** Whether the channels support Linux-only options (SO_MARK, IP_TRANSPARENT, splice). */
  public boolean isNative() {
    return this != NIO;
  }

  public IoHandlerFactory ioHandlerFactory() {
    return switch (this) {
      case IO_URING -> IoUringIoHandler.newFactory();
      case EPOLL -> EpollIoHandler.newFactory();
      case NIO -> NioIoHandler.newFactory();
    };
  }

  /** A group of {@code threads} event loops (0 = one per available core). */
  public EventLoopGroup newEventLoopGroup(int threads, String name) {
    return new MultiThreadIoEventLoopGroup(threads, new DefaultThreadFactory(name, true), ioHandlerFactory());
  }

  /**
   * Up to {@code maxThreads} event loops (0 = one per core) that hand new channels to the first loop
   * that is not busy instead of round-robin, so a lightly loaded process serves its connections from
   * one loop and wakes one thread; see {@link LoadPackingGroup}.
   */
  public EventLoopGroup newLoadPackingEventLoopGroup(int maxThreads, String name) {
    int n = maxThreads > 0 ? maxThreads : Runtime.getRuntime().availableProcessors();
    return n == 1 ? newEventLoopGroup(1, name) : LoadPackingGroup.create(n, name, ioHandlerFactory());
  }

  public Class<? extends SocketChannel> socketChannel() {
    return switch (this) {
      case IO_URING -> IoUringSocketChannel.class;
      case EPOLL -> EpollSocketChannel.class;
      case NIO -> NioSocketChannel.class;
    };
  }

  public Class<? extends ServerSocketChannel> serverSocketChannel() {
    return switch (this) {
      case IO_URING -> IoUringServerSocketChannel.class;
      case EPOLL -> EpollServerSocketChannel.class;
      case NIO -> NioServerSocketChannel.class;
    };
  }

  /** Parses an override value; throws with the accepted values when it is unknown. */
  public static Transport parse(String value) {
    String v = requireNonNull(value, "value").trim().toLowerCase(Locale.ROOT).replace('-', '_');
    for (Transport t : values()) {
      if (t.label.equals(v) || (t == IO_URING && v.equals("iouring"))) {
        return t;
      }
    }
    throw new IllegalArgumentException("unknown transport '" + value + "': use io_uring, epoll or nio");
  }

  /**
   * Picks the transport: the override if set (it must be available), else the first available of
   * io_uring, epoll, NIO.
   */
  public static Transport select(Optional<String> override) {
    if (override.isPresent() && !override.get().isBlank()) {
      Transport t = parse(override.get());
      if (!t.isAvailable()) {
        throw new IllegalStateException("transport " + t.label + " was requested but is not available here: "
            + t.unavailabilityCause().map(Throwable::toString).orElse("unknown reason"));
      }
      return t;
    }
    for (Transport t : values()) {
      if (t.isAvailable()) {
        return t;
      }
      log.debug("transport {} unavailable: {}", t.label, t.unavailabilityCause().map(Throwable::toString).orElse("?"));
    }
    return NIO;
  }

  private static volatile Transport processDefault;

  /** The process-wide choice (from the override or availability), logged once. */
  public static Transport defaultTransport() {
    Transport t = processDefault;
    if (t == null) {
      synchronized (Transport.class) {
        t = processDefault;
        if (t == null) {
          String override = System.getProperty(PROPERTY);
          if (override == null) {
            override = System.getenv(ENV);
          }
          t = select(Optional.ofNullable(override));
          log.info("network transport: {}{}", t.label, override == null ? " (first available)" : " (requested)");
          processDefault = t;
        }
      }
    }
    return t;
  }
}
