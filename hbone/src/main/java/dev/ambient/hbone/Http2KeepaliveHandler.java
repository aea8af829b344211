package dev.ambient.hbone;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http2.DefaultHttp2PingFrame;
import io.netty.handler.codec.http2.Http2PingFrame;
import io.netty.util.concurrent.ScheduledFuture;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * HTTP/2 PING keepalive (spec §4.4): a PING one interval after start and one interval after each
 * acknowledgement; an acknowledgement missing for the timeout closes the connection. Sits between
 * the frame codec and the multiplexer; runs on the connection's event loop.
 */
final class Http2KeepaliveHandler extends ChannelInboundHandlerAdapter {
  private static final Logger log = LoggerFactory.getLogger(Http2KeepaliveHandler.class);

  private final long intervalNanos;
  private final long timeoutNanos;
  private @Nullable ScheduledFuture<?> nextPing;
  private @Nullable ScheduledFuture<?> deadline;
  private long outstanding = -1;
  private long counter;

  Http2KeepaliveHandler(Duration interval, Duration timeout) {
    this.intervalNanos = interval.toNanos();
    this.timeoutNanos = timeout.toNanos();
  }

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    if (ctx.channel().isActive()) {
      scheduleNext(ctx);
    }
  }

  @Override
  public void channelActive(ChannelHandlerContext ctx) {
    scheduleNext(ctx);
    ctx.fireChannelActive();
  }

  private void scheduleNext(ChannelHandlerContext ctx) {
    if (intervalNanos > 0 && nextPing == null) {
      nextPing = ctx.executor().schedule(() -> ping(ctx), intervalNanos, TimeUnit.NANOSECONDS);
    }
  }

  private void ping(ChannelHandlerContext ctx) {
    nextPing = null;
    if (!ctx.channel().isActive()) {
      return;
    }
    outstanding = ++counter;
    ctx.writeAndFlush(new DefaultHttp2PingFrame(outstanding));
    if (timeoutNanos > 0) {
      deadline = ctx.executor().schedule(() -> {
        log.info("HBONE connection {} did not answer PING within {} ms; closing it",
            ctx.channel().remoteAddress(), TimeUnit.NANOSECONDS.toMillis(timeoutNanos));
        ctx.close();
      }, timeoutNanos, TimeUnit.NANOSECONDS);
    }
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (msg instanceof Http2PingFrame ping && ping.ack() && ping.content() == outstanding) {
      outstanding = -1;
      if (deadline != null) {
        deadline.cancel(false);
        deadline = null;
      }
      scheduleNext(ctx);
    }
    ctx.fireChannelRead(msg);
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    cancel();
    ctx.fireChannelInactive();
  }

  @Override
  public void handlerRemoved(ChannelHandlerContext ctx) {
    cancel();
  }

  private void cancel() {
    if (nextPing != null) {
      nextPing.cancel(false);
      nextPing = null;
    }
    if (deadline != null) {
      deadline.cancel(false);
      deadline = null;
    }
  }
}
