package dev.ambient.ztunnel.proxy.outbound;

import static java.util.Objects.requireNonNull;

import dev.ambient.hbone.HboneClient;
import dev.ambient.ztunnel.proxy.ProxyInputs;
import dev.ambient.ztunnel.proxy.ProxyListener;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.handler.codec.ByteToMessageDecoder;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A minimal SOCKS5 listener (RFC 1928, spec §5.7) feeding the outbound path: method 0 (no
 * authentication) only, CONNECT only, IPv4 and IPv6 targets; domain names are answered with
 * "address type not supported" (8) for now. Success ({@code 05 00 00 01 0.0.0.0:0}) is replied
 * before connecting upstream, then the SOCKS target is the original destination of the normal
 * outbound algorithm. It has its own {@link HboneClient} pool (spec §4.6).
 */
public final class Socks5Proxy implements ProxyListener {
  private static final Logger log = LoggerFactory.getLogger(Socks5Proxy.class);

  private final OutboundProxy routing;
  private final Channel server;

  private Socks5Proxy(OutboundProxy routing, Channel server) {
    this.routing = routing;
    this.server = server;
  }

  /**
   * Binds the SOCKS5 listener.
   *
   * @throws IllegalStateException when the address cannot be bound
   */
  public static Socks5Proxy bind(
      ProxyInputs inputs, HboneClient hbone, InetSocketAddress bind, OutboundProxy.Options options) {
    OutboundProxy routing = new OutboundProxy(inputs, hbone, options);
    ServerBootstrap b = new ServerBootstrap()
        .group(inputs.workers())
        .channel(inputs.transport().serverSocketChannel())
        .childOption(ChannelOption.AUTO_READ, false)
        .childOption(ChannelOption.ALLOW_HALF_CLOSURE, true)
        .childHandler(new ChannelInitializer<Channel>() {
          @Override
          protected void initChannel(Channel ch) {
            routing.opened(ch);
            // In front of the early-input holder: bytes after the request go there, not lost.
            ch.pipeline().addBefore(EarlyInput.NAME, "socks5", new Handshake(routing));
          }
        });
    inputs.sockets().listener().accept(b);
    ChannelFuture f = b.bind(bind).awaitUninterruptibly();
    if (!f.isSuccess()) {
      throw new IllegalStateException("cannot bind the SOCKS5 listener on " + bind + ": " + f.cause(), f.cause());
    }
    log.info("SOCKS5 listener on {}", f.channel().localAddress());
    return new Socks5Proxy(routing, f.channel());
  }

  @Override
  public InetSocketAddress localAddress() {
    return (InetSocketAddress) server.localAddress();
  }

  @Override
  public int activeConnections() {
    return routing.activeConnections();
  }

  /** The live connections started through this listener. */
  public List<OutboundConnection> connections() {
    return routing.connections();
  }

  @Override
  public void stopAccepting() {
    if (server.isOpen()) {
      server.close().awaitUninterruptibly(5, TimeUnit.SECONDS);
    }
  }

  @Override
  public CompletableFuture<Void> drain(Duration deadline) {
    stopAccepting();
    return routing.drain(deadline);
  }

  @Override
  public void close() {
    stopAccepting();
    routing.close();
  }

  /** The outcome of parsing what the client sent so far (pure; see {@link Handshake}). */
  sealed interface Step {
    /** Not enough bytes yet. */
    record NeedMore() implements Step {}

    /** Reply {@code reply} and, if {@code close}, close; else continue with the request. */
    record Reply(byte[] reply, boolean close) implements Step {}

    /** A CONNECT to {@code target}. */
    record Connect(InetSocketAddress target) implements Step {}
  }

  static final byte VERSION = 5;
  static final byte[] NO_AUTH = {VERSION, 0};
  static final byte[] NO_ACCEPTABLE_METHOD = {VERSION, (byte) 0xff};
  static final int REPLY_GENERAL_FAILURE = 1;
  static final int REPLY_COMMAND_NOT_SUPPORTED = 7;
  static final int REPLY_ADDRESS_TYPE_NOT_SUPPORTED = 8;

  /** {@code 05 <code> 00 01 0.0.0.0:0}. */
  static byte[] reply(int code) {
    return new byte[] {VERSION, (byte) code, 0, 1, 0, 0, 0, 0, 0, 0};
  }

  /** Parses the greeting (method selection); consumes it when complete. */
  static Step greeting(ByteBuf in) {
    if (in.readableBytes() < 2) {
      return new Step.NeedMore();
    }
    int i = in.readerIndex();
    if (in.getByte(i) != VERSION) {
      return new Step.Reply(new byte[0], true);
    }
    int n = in.getUnsignedByte(i + 1);
    if (in.readableBytes() < 2 + n) {
      return new Step.NeedMore();
    }
    boolean noAuth = false;
    for (int m = 0; m < n; m++) {
      noAuth |= in.getByte(i + 2 + m) == 0;
    }
    in.skipBytes(2 + n);
    return noAuth ? new Step.Reply(NO_AUTH, false) : new Step.Reply(NO_ACCEPTABLE_METHOD, true);
  }

  /** Parses the request; consumes it when complete. */
  static Step request(ByteBuf in) {
    if (in.readableBytes() < 4) {
      return new Step.NeedMore();
    }
    int i = in.readerIndex();
    if (in.getByte(i) != VERSION) {
      return new Step.Reply(reply(REPLY_GENERAL_FAILURE), true);
    }
    if (in.getByte(i + 1) != 1) {
      return new Step.Reply(reply(REPLY_COMMAND_NOT_SUPPORTED), true);
    }
    int atyp = in.getUnsignedByte(i + 3);
    int len = switch (atyp) {
      case 1 -> 4;
      case 4 -> 16;
      default -> -1;
    };
    if (len < 0) {
      return new Step.Reply(reply(REPLY_ADDRESS_TYPE_NOT_SUPPORTED), true);
    }
    if (in.readableBytes() < 4 + len + 2) {
      return new Step.NeedMore();
    }
    byte[] ip = new byte[len];
    in.getBytes(i + 4, ip);
    int port = in.getUnsignedShort(i + 4 + len);
    in.skipBytes(4 + len + 2);
    try {
      return new Step.Connect(OutboundProxy.canonical(new InetSocketAddress(InetAddress.getByAddress(ip), port)));
    } catch (UnknownHostException e) {
      return new Step.Reply(reply(REPLY_GENERAL_FAILURE), true);
    }
  }

  /** Reads the greeting and the request, replies, then hands the connection to the outbound path. */
  private static final class Handshake extends ByteToMessageDecoder {
    private final OutboundProxy routing;
    private boolean greeted;

    Handshake(OutboundProxy routing) {
      this.routing = requireNonNull(routing);
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) throws Exception {
      ctx.read();
      super.channelActive(ctx);
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
      Step step = greeted ? request(in) : greeting(in);
      switch (step) {
        case Step.NeedMore n -> {}
        case Step.Reply r -> {
          if (r.close()) {
            in.skipBytes(in.readableBytes());
            if (r.reply().length == 0) {
              ctx.close();
            } else {
              ctx.writeAndFlush(ctx.alloc().buffer(r.reply().length).writeBytes(r.reply()))
                  .addListener(ChannelFutureListener.CLOSE);
            }
          } else {
            greeted = true;
            ctx.writeAndFlush(ctx.alloc().buffer(r.reply().length).writeBytes(r.reply()));
          }
        }
        case Step.Connect c -> {
          Channel ch = ctx.channel();
          InetSocketAddress client = OutboundProxy.canonical((InetSocketAddress) ch.remoteAddress());
          byte[] ok = reply(0);
          ctx.writeAndFlush(ctx.alloc().buffer(ok.length).writeBytes(ok));
          ctx.pipeline().remove(this);
          routing.handle(ch, client, c.target());
        }
      }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      log.debug("SOCKS5 handshake with {} failed: {}", ctx.channel().remoteAddress(), cause.toString());
      ctx.close();
    }
  }
}
