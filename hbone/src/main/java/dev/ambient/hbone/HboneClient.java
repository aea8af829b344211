package dev.ambient.hbone;

import static java.util.Objects.requireNonNull;

import dev.ambient.net.Transport;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.ConnectTimeoutException;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.util.concurrent.GlobalEventExecutor;
import io.netty.handler.codec.http2.Http2GoAwayFrame;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.handler.codec.http2.Http2SettingsFrame;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import io.netty.util.concurrent.ScheduledFuture;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An HBONE client: opens CONNECT tunnels over pooled, multiplexed mTLS HTTP/2 connections.
 *
 * <h2>Pooling (spec §4.6)</h2>
 * Connections are shared only by requests with the same {@link PoolKey}: source identity, set of
 * acceptable server identities, destination and source IP. Per key there is at most one handshake
 * in flight; each connection carries at most {@link PoolConfig#maxStreamsPerConnection()} streams,
 * or fewer when the server's SETTINGS_MAX_CONCURRENT_STREAMS is lower; beyond that another
 * connection is opened to the same key. {@link #open(HboneConnectRequest, EventLoop)} keeps one such
 * pool per event loop (as Envoy keeps one per worker): its connections live on the caller's loop,
 * so relaying between the caller's TCP channel and the stream never hops threads. A connection without streams for
 * {@link PoolConfig#idleTimeout()} is closed. GOAWAY or a lost connection takes it out of the pool.
 * PING keepalive per {@link Http2Config}.
 *
 * <h2>Errors</h2>
 * {@link #open} fails with an {@link HboneException} naming the reason: connect timeout (likely a
 * NetworkPolicy blocking 15008), connect failure, TLS failure (e.g. the server's SPIFFE id is not
 * one of the expected identities), a non-200 answer (with its status), a reset, a lost connection.
 *
 * <h2>Threading</h2>
 * {@link #open} may be called from any thread. Pool state is guarded per key; each connection and
 * its streams live on one event loop.
 */
public final class HboneClient implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(HboneClient.class);

  private final Transport transport;
  private final EventLoopGroup group;
  private final boolean ownsGroup;
  private final PoolConfig config;
  private final Consumer<Bootstrap> socketCustomizer;
  private final ConcurrentHashMap<Slot, KeyPool> pools = new ConcurrentHashMap<>();
  /** Every open stream: closed explicitly on {@link #close()}, which also releases DATA nobody read. */
  private final ChannelGroup streams = new DefaultChannelGroup("hbone-client-streams", GlobalEventExecutor.INSTANCE);
  private volatile boolean closed;

  private HboneClient(
      Transport transport, EventLoopGroup group, boolean ownsGroup, PoolConfig config, Consumer<Bootstrap> socketCustomizer) {
    this.transport = transport;
    this.group = group;
    this.ownsGroup = ownsGroup;
    this.config = config;
    this.socketCustomizer = socketCustomizer;
  }

  public static Builder builder() {
    return new Builder();
  }

  PoolConfig config() {
    return config;
  }

  void track(io.netty.channel.Channel stream) {
    streams.add(stream);
  }

  /**
   * Opens a tunnel: takes a slot on a pooled connection for the request's {@link PoolKey} (or
   * creates one), sends the CONNECT and completes when the server answered 200.
   */
  public CompletableFuture<HboneStream> open(HboneConnectRequest request) {
    requireNonNull(request, "request");
    return open(new Slot(request.poolKey(), null), request);
  }

  /**
   * {@link #open(HboneConnectRequest)} on a connection that lives on {@code loop}, typically the
   * event loop of the TCP channel the stream will be relayed to: then both ends of the relay run on
   * one thread, with no task hand-off and no wake-up per write. Connections are pooled per loop (a
   * key has at most one connection set per loop). A loop that is not one of this client's event
   * loops is ignored (the stream then lives on any of the client's loops).
   */
  public CompletableFuture<HboneStream> open(HboneConnectRequest request, EventLoop loop) {
    requireNonNull(request, "request");
    requireNonNull(loop, "loop");
    return open(new Slot(request.poolKey(), isOwnLoop(loop) ? loop : null), request);
  }

  private CompletableFuture<HboneStream> open(Slot slot, HboneConnectRequest request) {
    while (true) {
      if (closed) {
        return CompletableFuture.failedFuture(HboneException.closed("HBONE client"));
      }
      KeyPool pool = pools.computeIfAbsent(slot, s -> new KeyPool(this, s.key(), s.loop()));
      CompletableFuture<PooledConnection> conn = pool.acquire(request);
      if (conn != null) {
        return conn.thenCompose(c -> c.openStream(request, slot.key()));
      }
    }
  }

  private boolean isOwnLoop(EventLoop loop) {
    if (loop == group) {
      return true;
    }
    for (io.netty.util.concurrent.EventExecutor e : group) {
      if (e == loop) {
        return true;
      }
    }
    return false;
  }

  /** Live pooled connections for {@code key} (over all event loops). */
  public int connectionCount(PoolKey key) {
    int n = 0;
    for (KeyPool pool : pools.values()) {
      if (pool.key().equals(key)) {
        n += pool.connectionCount();
      }
    }
    return n;
  }

  /** Live pooled connections. */
  public int connectionCount() {
    return pools.values().stream().mapToInt(KeyPool::connectionCount).sum();
  }

  void retire(KeyPool pool) {
    pools.remove(new Slot(pool.key(), pool.loop()), pool);
  }

  /** What a {@link KeyPool} is for: a pool key, and the event loop its connections live on (null: any). */
  private record Slot(PoolKey key, @Nullable EventLoop loop) {}

  /** Establishes one connection for {@code pool}: TCP, TLS, HTTP/2 up to the server's SETTINGS. */
  CompletableFuture<PooledConnection> connect(HboneConnectRequest request, KeyPool pool) {
    CompletableFuture<PooledConnection> result = new CompletableFuture<>();
    if (closed) {
      result.completeExceptionally(HboneException.closed("HBONE client"));
      return result;
    }
    PoolKey key = pool.key();
    InetSocketAddress dst = key.destination();
    Http2Config h2 = config.http2();
    EventLoop loop = pool.loop();
    Bootstrap b = new Bootstrap()
        .group(loop != null ? loop : group)
        .channel(transport.socketChannel())
        .option(ChannelOption.TCP_NODELAY, true)
        .option(ChannelOption.SO_KEEPALIVE, true)
        .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) config.connectTimeout().toMillis())
        .handler(new ChannelInitializer<Channel>() {
          @Override
          protected void initChannel(Channel ch) {
            SslHandler ssl = request.tls().newClientHandler(ch.alloc(), key.expectedIdentities());
            PooledConnection conn = new PooledConnection(ch, pool, config.maxStreamsPerConnection());
            ch.pipeline().addLast("tls", ssl).addLast("hbone-handshake", new HandshakeHandler(conn, ssl, h2, result, dst));
          }
        });
    socketCustomizer.accept(b);
    if (key.sourceIp() != null) {
      b.localAddress(new InetSocketAddress(key.sourceIp(), 0));
    }
    ChannelFuture cf = b.connect(dst);
    cf.addListener(f -> {
      if (!f.isSuccess()) {
        Throwable cause = f.cause();
        result.completeExceptionally(cause instanceof ConnectTimeoutException
            ? HboneException.connectTimeout(dst, config.connectTimeout().toMillis())
            : HboneException.connectFailed(dst, cause));
      }
    });
    cf.channel().closeFuture().addListener(f -> {
      result.completeExceptionally(HboneException.connectionLost(dst, "closed during set-up", null));
    });
    return result.whenComplete((c, err) -> {
      if (c != null) {
        c.channel.closeFuture().addListener(f -> pool.remove(c));
      } else {
        cf.channel().close();
      }
    });
  }

  /** Closes every pooled connection; later {@link #open} calls fail. */
  @Override
  public void close() {
    closed = true;
    // A stream nobody reads keeps its DATA queued even after its connection is gone (AUTO_READ
    // off); closing it releases that.
    streams.close().awaitUninterruptibly(5, TimeUnit.SECONDS);
    List<ChannelFuture> closing = new ArrayList<>();
    pools.values().forEach(p -> closing.addAll(p.shutdown()));
    pools.clear();
    // Wait for the connections (and so their streams, which are closed on the same loops) to be
    // closed, so that buffers they hold are released before any loop stops.
    for (ChannelFuture f : closing) {
      f.awaitUninterruptibly(5, TimeUnit.SECONDS);
    }
    if (ownsGroup) {
      group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }
  }

  /** TLS handshake, ALPN check, then HTTP/2; completes the connect once the server's SETTINGS arrive. */
  private final class HandshakeHandler extends ChannelInboundHandlerAdapter {
    private final PooledConnection conn;
    private final SslHandler ssl;
    private final Http2Config h2;
    private final CompletableFuture<PooledConnection> result;
    private final InetSocketAddress dst;

    HandshakeHandler(PooledConnection conn, SslHandler ssl, Http2Config h2,
        CompletableFuture<PooledConnection> result, InetSocketAddress dst) {
      this.conn = conn;
      this.ssl = ssl;
      this.h2 = h2;
      this.result = result;
      this.dst = dst;
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
      if (!(evt instanceof SslHandshakeCompletionEvent done)) {
        ctx.fireUserEventTriggered(evt);
        return;
      }
      if (!done.isSuccess()) {
        log.info("HBONE connection to {} failed: TLS handshake: {}", dst, HboneException.causes(done.cause()));
        result.completeExceptionally(HboneException.tlsFailure(dst, done.cause()));
        ctx.close();
        return;
      }
      if (!ApplicationProtocolNames.HTTP_2.equals(ssl.applicationProtocol())) {
        result.completeExceptionally(HboneException.tlsFailure(dst,
            new IllegalStateException("server negotiated ALPN " + ssl.applicationProtocol() + ", not h2")));
        ctx.close();
        return;
      }
      Http2Codecs.install(ctx, Http2Codecs.client(h2), h2, List.of(new ConnectionStateHandler(conn, result, dst)),
          new Http2MultiplexHandler(new ChannelInboundHandlerAdapter()));
    }
  }

  /** Tracks the server's SETTINGS (stream cap) and GOAWAY for the pool. */
  private final class ConnectionStateHandler extends ChannelInboundHandlerAdapter {
    private final PooledConnection conn;
    private final CompletableFuture<PooledConnection> ready;
    private final InetSocketAddress dst;
    private @Nullable ScheduledFuture<?> settingsTimeout;

    ConnectionStateHandler(PooledConnection conn, CompletableFuture<PooledConnection> ready, InetSocketAddress dst) {
      this.conn = conn;
      this.ready = ready;
      this.dst = dst;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
      settingsTimeout = ctx.executor().schedule(() -> {
        if (ready.completeExceptionally(HboneException.connectionLost(dst, "no HTTP/2 SETTINGS from the server", null))) {
          ctx.close();
        }
      }, config.connectTimeout().toMillis(), TimeUnit.MILLISECONDS);
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      if (msg instanceof Http2SettingsFrame s) {
        Long max = s.settings().maxConcurrentStreams();
        if (max != null) {
          conn.peerMaxStreams = (int) Math.min(Integer.MAX_VALUE, max);
        }
        if (settingsTimeout != null) {
          settingsTimeout.cancel(false);
          settingsTimeout = null;
        }
        ready.complete(conn);
      } else if (msg instanceof Http2GoAwayFrame goAway) {
        log.debug("HBONE connection to {} received GOAWAY ({})", dst, goAway.errorCode());
        conn.markGoingAway();
      }
      ctx.fireChannelRead(msg);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      // In TLS 1.3 the server checks our certificate after our side of the handshake is done: its
      // refusal arrives as an alert here, before any SETTINGS.
      if (!ready.isDone() && hasSslCause(cause)) {
        log.info("HBONE connection to {} refused by the server: {}", dst, HboneException.causes(cause));
        ready.completeExceptionally(HboneException.tlsFailure(dst, cause));
        ctx.close();
        return;
      }
      ctx.fireExceptionCaught(cause);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
      if (settingsTimeout != null) {
        settingsTimeout.cancel(false);
      }
      ready.completeExceptionally(HboneException.connectionLost(dst, "closed before SETTINGS", null));
      ctx.fireChannelInactive();
    }
  }

  private static boolean hasSslCause(Throwable t) {
    for (Throwable c = t; c != null; c = c.getCause() == c ? null : c.getCause()) {
      if (c instanceof javax.net.ssl.SSLException) {
        return true;
      }
    }
    return false;
  }

  public static final class Builder {
    private Transport transport = Transport.defaultTransport();
    private @Nullable EventLoopGroup group;
    private PoolConfig config = PoolConfig.defaults();
    private Consumer<Bootstrap> socketCustomizer = b -> {};

    Builder() {}

    public Builder transport(Transport transport) {
      this.transport = requireNonNull(transport, "transport");
      return this;
    }

    /** Event loops to use (not closed by the client); default: a group of the transport, owned. */
    public Builder eventLoopGroup(EventLoopGroup group) {
      this.group = requireNonNull(group, "group");
      return this;
    }

    /** Pool rules; default {@link PoolConfig#defaults()}. */
    public Builder config(PoolConfig config) {
      this.config = requireNonNull(config, "config");
      return this;
    }

    /**
     * Socket options for every new pooled connection (SO_MARK, keepalive times, IP_TRANSPARENT):
     * applied to its {@link Bootstrap} after the client's own options and handler, before the
     * source bind and the connect. It may add options or wrap the handler, never drop it. Default:
     * nothing.
     */
    public Builder socketCustomizer(Consumer<Bootstrap> customizer) {
      this.socketCustomizer = requireNonNull(customizer, "customizer");
      return this;
    }

    public HboneClient build() {
      boolean owns = group == null;
      EventLoopGroup g = owns ? transport.newEventLoopGroup(0, "hbone-client") : group;
      return new HboneClient(transport, g, owns, config, socketCustomizer);
    }
  }
}
