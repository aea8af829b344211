package dev.ambient.ztunnel.proxy;

import dev.ambient.net.Transport;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.DuplexChannel;
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.jspecify.annotations.Nullable;

/**
 * A TCP echo server for tests: echoes every byte, answers FIN with FIN, and counts accepted
 * connections so a test can tell whether traffic really reached it.
 */
public final class EchoServer implements AutoCloseable {
  private final Channel channel;
  private final AtomicInteger accepted = new AtomicInteger();
  private final @Nullable EventLoopGroup owned;

  /** An echo server on {@code bind} running on {@code group} (which the caller shuts down). */
  public EchoServer(EventLoopGroup group, Transport transport, InetSocketAddress bind) {
    this(group, transport, bind, null);
  }

  /** An echo server on {@code bind} with its own event loop, shut down by {@link #close}. */
  public EchoServer(InetSocketAddress bind) {
    Transport transport = Transport.defaultTransport();
    EventLoopGroup group = transport.newEventLoopGroup(1, "echo");
    this(group, transport, bind, group);
  }

  private EchoServer(EventLoopGroup group, Transport transport, InetSocketAddress bind, @Nullable EventLoopGroup owned) {
    this.owned = owned;
    try {
      channel = new ServerBootstrap().group(group).channel(transport.serverSocketChannel())
          .option(ChannelOption.SO_REUSEADDR, true)
          .childOption(ChannelOption.ALLOW_HALF_CLOSURE, true)
          .childHandler(new ChannelInitializer<Channel>() {
            @Override
            protected void initChannel(Channel ch) {
              accepted.incrementAndGet();
              ch.pipeline().addLast(new Echo());
            }
          })
          .bind(bind).syncUninterruptibly().channel();
    } catch (RuntimeException e) {
      if (owned != null) {
        owned.shutdownGracefully(0, 1, TimeUnit.SECONDS);
      }
      throw new IllegalStateException("cannot bind the echo server on " + bind + ": " + e, e);
    }
  }

  public InetSocketAddress address() {
    return (InetSocketAddress) channel.localAddress();
  }

  /** Connections accepted so far. */
  public int accepted() {
    return accepted.get();
  }

  @Override
  public void close() {
    channel.close().syncUninterruptibly();
    if (owned != null) {
      owned.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }
  }

  private static final class Echo extends ChannelInboundHandlerAdapter {
    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      ctx.write(msg);
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
      ctx.flush();
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
      if (evt instanceof ChannelInputShutdownEvent) {
        ctx.writeAndFlush(Unpooled.EMPTY_BUFFER)
            .addListener((ChannelFutureListener) f -> ((DuplexChannel) ctx.channel()).shutdownOutput());
      }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      ctx.close();
    }
  }
}
