package dev.ambient.hbone;

import dev.ambient.net.Transport;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
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
import java.util.function.Consumer;
import java.util.function.Function;

/** Small plain-TCP servers for the loopback tests: echo, and a tunnel entrance that relays over HBONE. */
final class TcpServers {
  private TcpServers() {}

  /** Echoes every byte; answers FIN with FIN once everything was written. */
  static Channel echo(EventLoopGroup group, Transport transport) {
    return bind(group, transport, ch -> ch.pipeline().addLast(new ChannelInboundHandlerAdapter() {
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
          ctx.writeAndFlush(io.netty.buffer.Unpooled.EMPTY_BUFFER)
              .addListener((ChannelFutureListener) f -> ((DuplexChannel) ctx.channel()).shutdownOutput());
        }
      }

      @Override
      public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        ctx.close();
      }
    }), true);
  }

  /**
   * A TCP listener whose accepted connections are tunnelled: {@code opener} opens the HBONE stream
   * for each, then the two are relayed. Connections whose tunnel fails are reset.
   */
  static Channel tunnelEntrance(EventLoopGroup group, Transport transport,
      Function<Channel, java.util.concurrent.CompletableFuture<HboneStream>> opener, Consumer<Relay> relays) {
    return bind(group, transport, ch -> opener.apply(ch).whenComplete((stream, err) -> {
      if (err != null) {
        ch.config().setOption(ChannelOption.SO_LINGER, 0);
        ch.close();
      } else {
        relays.accept(stream.relay(ch));
      }
    }), false);
  }

  static Channel bind(EventLoopGroup group, Transport transport, Consumer<Channel> init, boolean autoRead) {
    return new ServerBootstrap()
        .group(group)
        .channel(transport.serverSocketChannel())
        .childOption(ChannelOption.ALLOW_HALF_CLOSURE, true)
        .childOption(ChannelOption.AUTO_READ, autoRead)
        .childOption(ChannelOption.TCP_NODELAY, true)
        .childHandler(new ChannelInitializer<Channel>() {
          @Override
          protected void initChannel(Channel ch) {
            init.accept(ch);
          }
        })
        .bind(new InetSocketAddress("127.0.0.1", 0))
        .syncUninterruptibly()
        .channel();
  }

  static InetSocketAddress address(Channel server) {
    return (InetSocketAddress) server.localAddress();
  }

  static void release(Object msg) {
    if (msg instanceof ByteBuf b) {
      b.release();
    }
  }
}
