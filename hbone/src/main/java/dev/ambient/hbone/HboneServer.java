package dev.ambient.hbone;

import static java.util.Objects.requireNonNull;

import dev.ambient.identity.HboneTls;
import dev.ambient.identity.SpiffeId;
import dev.ambient.net.Transport;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.handler.codec.http2.Http2FrameCodec;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An HBONE server: TLS 1.3 with a required client certificate, then HTTP/2 with one CONNECT
 * stream per tunnel.
 *
 * <h2>Per connection</h2>
 * The TLS handshake verifies the client (spec §4.3, see {@link HboneTls}); a refused handshake is
 * logged with its reason and closed, with no HTTP response. ALPN must select {@code h2}. The
 * client's identity (first SPIFFE URI SAN) becomes {@link HboneRequest#peerIdentity()} of every
 * stream. The server advertises {@link Http2Config#maxConcurrentStreams()} (200) and raises the
 * connection window; PING keepalive as configured.
 *
 * <h2>Per stream</h2>
 * Not CONNECT ⇒ 400; {@code :authority} not {@code IP:port} / {@code host:port} ⇒ 400; else the
 * {@link HboneHandler} decides. {@link HboneDecision.Reject} answers its status;
 * {@link HboneDecision.Accept} connects upstream first and answers 200 only when that succeeded
 * (else 503), then relays (see {@link Relay}). Error answers carry END_STREAM and no body.
 *
 * <h2>Lifecycle</h2>
 * {@link Builder#start()} binds. {@link #shutdownGracefully(Duration)} stops accepting, sends
 * GOAWAY, lets open streams finish until the deadline, then closes what is left. {@link #close()}
 * does the same with no grace.
 */
public final class HboneServer implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(HboneServer.class);

  private final Channel serverChannel;
  private final ChannelGroup connections;
  private final ChannelGroup streams;
  private final EventLoopGroup group;
  private final boolean ownsGroup;

  private HboneServer(Channel serverChannel, ChannelGroup connections, ChannelGroup streams, EventLoopGroup group,
      boolean ownsGroup) {
    this.serverChannel = serverChannel;
    this.connections = connections;
    this.streams = streams;
    this.group = group;
    this.ownsGroup = ownsGroup;
  }

  public static Builder builder() {
    return new Builder();
  }

  public InetSocketAddress localAddress() {
    return (InetSocketAddress) serverChannel.localAddress();
  }

  /** HBONE connections currently open. */
  public int connectionCount() {
    return connections.size();
  }

  /** Closes the listening socket; open connections and their streams continue. Idempotent. */
  public void stopAccepting() {
    serverChannel.close().syncUninterruptibly();
  }

  /** Stops accepting, sends GOAWAY, waits for streams up to {@code deadline}, then closes the rest. */
  public CompletableFuture<Void> shutdownGracefully(Duration deadline) {
    serverChannel.close().syncUninterruptibly();
    List<CompletableFuture<Void>> closing = new ArrayList<>();
    for (Channel ch : connections) {
      CompletableFuture<Void> done = new CompletableFuture<>();
      ch.closeFuture().addListener(f -> done.complete(null));
      closing.add(done);
      ch.eventLoop().execute(() -> {
        Http2FrameCodec codec = ch.pipeline().get(Http2FrameCodec.class);
        if (codec != null) {
          codec.gracefulShutdownTimeoutMillis(deadline.toMillis());
        }
        ch.close(); // with a codec: GOAWAY, then close once streams are done or at the deadline
      });
      ch.eventLoop().schedule(() -> {
        ch.close();
      }, deadline.toMillis() + 100, TimeUnit.MILLISECONDS);
    }
    // Streams still open at the deadline are closed too: one nobody reads would otherwise keep its
    // queued DATA after the connection is gone.
    CompletableFuture.runAsync(() -> streams.close(),
        CompletableFuture.delayedExecutor(deadline.toMillis() + 100, TimeUnit.MILLISECONDS));
    CompletableFuture<Void> all = CompletableFuture.allOf(closing.toArray(CompletableFuture[]::new));
    return all.whenComplete((v, t) -> {
      if (ownsGroup) {
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
      }
    });
  }

  @Override
  public void close() {
    shutdownGracefully(Duration.ZERO).join();
  }

  public static final class Builder {
    private Transport transport = Transport.defaultTransport();
    private @Nullable EventLoopGroup group;
    private @Nullable Supplier<? extends CompletionStage<HboneTls>> tls;
    private Duration tlsWait = Duration.ofSeconds(10);
    private @Nullable HboneHandler handler;
    private Http2Config http2 = Http2Config.serverDefaults();
    private InetSocketAddress bind = new InetSocketAddress("127.0.0.1", 0);
    private Consumer<ServerBootstrap> listenerOptions = b -> {};
    private Consumer<Channel> onAccept = ch -> {};

    Builder() {}

    /** Extra options for the listening socket (e.g. IP_TRANSPARENT), applied before the bind. */
    public Builder listenerOptions(Consumer<ServerBootstrap> listenerOptions) {
      this.listenerOptions = requireNonNull(listenerOptions, "listenerOptions");
      return this;
    }

    /**
     * Told of every accepted TCP connection before TLS starts, on its event loop (for socket
     * gauges: watch {@code closeFuture()} for the end).
     */
    public Builder onAccept(Consumer<Channel> onAccept) {
      this.onAccept = requireNonNull(onAccept, "onAccept");
      return this;
    }

    public Builder transport(Transport transport) {
      this.transport = requireNonNull(transport, "transport");
      return this;
    }

    /** Event loops to use (not closed by the server); default: a group of the transport, owned. */
    public Builder eventLoopGroup(EventLoopGroup group) {
      this.group = requireNonNull(group, "group");
      return this;
    }

    /** The server's TLS, read for every accepted connection (so rotation takes effect at once). */
    public Builder tls(Supplier<HboneTls> tls) {
      requireNonNull(tls, "tls");
      this.tls = () -> CompletableFuture.completedFuture(tls.get());
      return this;
    }

    /**
     * The server's TLS per accepted connection, possibly not there yet (a certificate still being
     * fetched): the connection is not read until it is, for at most {@code wait}; a failed or late
     * stage closes the connection.
     */
    public Builder tlsAsync(Supplier<? extends CompletionStage<HboneTls>> tls, Duration wait) {
      this.tls = requireNonNull(tls, "tls");
      this.tlsWait = requireNonNull(wait, "wait");
      return this;
    }

    public Builder tls(HboneTls tls) {
      requireNonNull(tls, "tls");
      return tls(() -> tls);
    }

    public Builder handler(HboneHandler handler) {
      this.handler = requireNonNull(handler, "handler");
      return this;
    }

    /** HTTP/2 settings; default {@link Http2Config#serverDefaults()}. */
    public Builder http2(Http2Config http2) {
      this.http2 = requireNonNull(http2, "http2");
      return this;
    }

    /** Address to listen on; default 127.0.0.1 with an ephemeral port. */
    public Builder bind(InetSocketAddress bind) {
      this.bind = requireNonNull(bind, "bind");
      return this;
    }

    /** Binds and returns the running server; throws when the bind fails. */
    public HboneServer start() {
      Supplier<? extends CompletionStage<HboneTls>> tlsSource = requireNonNull(tls, "tls must be set");
      long tlsWaitMillis = tlsWait.toMillis();
      HboneHandler app = requireNonNull(handler, "handler must be set");
      boolean owns = group == null;
      EventLoopGroup g = owns ? transport.newEventLoopGroup(0, "hbone-server") : group;
      ChannelGroup connections = new DefaultChannelGroup("hbone-connections", GlobalEventExecutor.INSTANCE);
      ChannelGroup streams = new DefaultChannelGroup("hbone-streams", GlobalEventExecutor.INSTANCE);
      Http2Config h2 = http2;
      Consumer<Channel> accepted = onAccept;
      ServerBootstrap b = new ServerBootstrap()
          .group(g)
          .channel(transport.serverSocketChannel())
          .option(ChannelOption.SO_BACKLOG, 1024)
          .childOption(ChannelOption.TCP_NODELAY, true)
          .childOption(ChannelOption.SO_KEEPALIVE, true)
          .childHandler(new ChannelInitializer<Channel>() {
            @Override
            protected void initChannel(Channel ch) {
              connections.add(ch);
              accepted.accept(ch);
              CompletableFuture<HboneTls> source;
              try {
                source = tlsSource.get().toCompletableFuture();
              } catch (RuntimeException e) {
                source = CompletableFuture.failedFuture(e);
              }
              if (source.isDone() && !source.isCompletedExceptionally()) {
                installTls(ch, source.join());
                return;
              }
              // Not there yet: hold the connection unread until it is (or give up).
              ch.config().setAutoRead(false);
              io.netty.util.concurrent.ScheduledFuture<?> giveUp = ch.eventLoop().schedule(() -> {
                log.info("HBONE connection from {} refused: no TLS certificate within {} ms", ch.remoteAddress(),
                    tlsWaitMillis);
                ch.close();
              }, tlsWaitMillis, TimeUnit.MILLISECONDS);
              source.whenComplete((serverTls, err) -> ch.eventLoop().execute(() -> {
                if (!giveUp.cancel(false) || !ch.isActive()) {
                  return;
                }
                if (err != null) {
                  log.info("HBONE connection from {} refused: no TLS certificate: {}", ch.remoteAddress(),
                      HboneException.causes(err));
                  ch.close();
                  return;
                }
                installTls(ch, serverTls);
                ch.config().setAutoRead(true);
                ch.read();
              }));
            }

            private void installTls(Channel ch, HboneTls serverTls) {
              SslHandler ssl = serverTls.newServerHandler(ch.alloc());
              ch.pipeline().addLast("tls", ssl).addLast("hbone-handshake", new HandshakeHandler(app, h2, ssl, streams));
            }
          });
      listenerOptions.accept(b);
      try {
        ChannelFuture bound = b.bind(bind).syncUninterruptibly();
        log.info("HBONE server listening on {} ({})", bound.channel().localAddress(), transport.label());
        return new HboneServer(bound.channel(), connections, streams, g, owns);
      } catch (RuntimeException e) {
        if (owns) {
          g.shutdownGracefully(0, 0, TimeUnit.SECONDS);
        }
        throw new IllegalStateException("cannot listen for HBONE on " + bind + ": " + e.getMessage(), e);
      }
    }
  }

  /** Waits for the TLS handshake, then installs HTTP/2. */
  private static final class HandshakeHandler extends ChannelInboundHandlerAdapter {
    private final HboneHandler app;
    private final Http2Config http2;
    private final SslHandler ssl;
    private final ChannelGroup streams;

    HandshakeHandler(HboneHandler app, Http2Config http2, SslHandler ssl, ChannelGroup streams) {
      this.app = app;
      this.http2 = http2;
      this.ssl = ssl;
      this.streams = streams;
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
      if (!(evt instanceof SslHandshakeCompletionEvent done)) {
        ctx.fireUserEventTriggered(evt);
        return;
      }
      Channel ch = ctx.channel();
      if (!done.isSuccess()) {
        log.info("HBONE connection from {} refused: TLS handshake failed: {}", ch.remoteAddress(), HboneException.causes(done.cause()));
        ctx.close();
        return;
      }
      if (!ApplicationProtocolNames.HTTP_2.equals(ssl.applicationProtocol())) {
        log.info("HBONE connection from {} refused: ALPN negotiated {} instead of h2", ch.remoteAddress(), ssl.applicationProtocol());
        ctx.close();
        return;
      }
      Optional<SpiffeId> peer = HboneTls.peerIdentity(ssl.engine().getSession());
      if (peer.isEmpty()) {
        log.info("HBONE connection from {} refused: client certificate has no SPIFFE identity", ch.remoteAddress());
        ctx.close();
        return;
      }
      InetSocketAddress remote = (InetSocketAddress) ch.remoteAddress();
      InetSocketAddress local = (InetSocketAddress) ch.localAddress();
      SpiffeId id = peer.get();
      Http2Codecs.install(ctx, Http2Codecs.server(http2), http2, List.of(),
          new Http2MultiplexHandler(new ChannelInitializer<Http2StreamChannel>() {
            @Override
            protected void initChannel(Http2StreamChannel stream) {
              stream.config().setAutoRead(false);
              streams.add(stream);
              stream.pipeline().addLast("hbone-connect", new ServerStreamHandler(app, id, remote, local));
            }
          }));
      log.debug("HBONE connection from {} as {}", remote, id);
    }
  }

}
