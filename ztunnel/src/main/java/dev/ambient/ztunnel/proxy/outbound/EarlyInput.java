package dev.ambient.ztunnel.proxy.outbound;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.ChannelInputShutdownReadComplete;
import io.netty.channel.socket.DuplexChannel;
import io.netty.util.ReferenceCountUtil;
import java.util.ArrayDeque;

/**
 * Holds what an accepted application socket delivers before its relay is attached. Even with
 * {@code AUTO_READ} off, the native transports read when the peer half-closes (EPOLLRDHUP /
 * POLLRDHUP, so that no data is missed): an application that writes and shuts down its output
 * right away would otherwise have its bytes and its FIN dropped at the pipeline's tail while the
 * route is still being decided. {@link #release} replays them, in order, to the handler added
 * behind this one; from then on it passes everything through. Held buffers are released if the
 * channel closes first.
 *
 * <p>It also drops {@code read()} requests once the input is shut down: a relay attached after
 * the FIN asks for a first read, and on epoll a read after FIN fails ({@code epoll_ctl} ENOENT),
 * which would look like a reset and lose the other direction.
 */
final class EarlyInput extends ChannelDuplexHandler {
  static final String NAME = "early-input";

  private final ArrayDeque<Object> held = new ArrayDeque<>();
  private boolean released;

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (released) {
      ctx.fireChannelRead(msg);
    } else {
      held.add(msg);
    }
  }

  @Override
  public void channelReadComplete(ChannelHandlerContext ctx) {
    if (released) {
      ctx.fireChannelReadComplete();
    }
  }

  @Override
  public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
    if (!released && (evt instanceof ChannelInputShutdownEvent || evt instanceof ChannelInputShutdownReadComplete)) {
      held.add(evt);
    } else {
      ctx.fireUserEventTriggered(evt);
    }
  }

  @Override
  public void read(ChannelHandlerContext ctx) {
    if (ctx.channel() instanceof DuplexChannel d && d.isInputShutdown()) {
      return;
    }
    ctx.read();
  }

  @Override
  public void handlerRemoved(ChannelHandlerContext ctx) {
    Object o;
    while ((o = held.poll()) != null) {
      ReferenceCountUtil.release(o);
    }
  }

  /**
   * Replays what was held to the handlers behind this one and lets later input through. Must run on
   * {@code ch}'s event loop, right after the relay handler was added, in the same task.
   */
  static void release(Channel ch) {
    ChannelHandlerContext ctx = ch.pipeline().context(NAME);
    if (ctx == null) {
      return;
    }
    EarlyInput self = (EarlyInput) ctx.handler();
    if (self.released) {
      return;
    }
    self.released = true;
    boolean data = false;
    Object o;
    while ((o = self.held.poll()) != null) {
      if (o instanceof ChannelInputShutdownEvent || o instanceof ChannelInputShutdownReadComplete) {
        if (data) {
          ctx.fireChannelReadComplete();
          data = false;
        }
        ctx.fireUserEventTriggered(o);
      } else {
        data = true;
        ctx.fireChannelRead(o);
      }
    }
    if (data) {
      ctx.fireChannelReadComplete();
    }
  }
}
