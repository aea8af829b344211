package dev.ambient.bench.jmh;

import dev.ambient.net.Transport;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoopGroup;
import io.netty.util.ReferenceCountUtil;
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;

/** Loopback helpers for the in-process benchmarks. */
final class LoopbackFixtures {
  private LoopbackFixtures() {}

  /** A TCP server on 127.0.0.1 that reads and discards everything, counting bytes; one event loop. */
  static final class Discard implements AutoCloseable {
    private final EventLoopGroup group;
    private final Channel channel;
    final LongAdder received = new LongAdder();

    Discard(Transport transport) {
      group = transport.newEventLoopGroup(1, "jmh-discard");
      channel = new ServerBootstrap().group(group).channel(transport.serverSocketChannel())
          .childHandler(new Counter())
          .bind(new InetSocketAddress("127.0.0.1", 0)).syncUninterruptibly().channel();
    }

    InetSocketAddress address() {
      return (InetSocketAddress) channel.localAddress();
    }

    @Override
    public void close() {
      channel.close().syncUninterruptibly();
      group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }

    @ChannelHandler.Sharable
    private final class Counter extends ChannelInboundHandlerAdapter {
      @Override
      public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof ByteBuf b) {
          received.add(b.readableBytes());
        }
        ReferenceCountUtil.release(msg);
      }

      @Override
      public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        ctx.close();
      }
    }
  }
}
