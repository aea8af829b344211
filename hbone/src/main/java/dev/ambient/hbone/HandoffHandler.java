package dev.ambient.hbone;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.ReferenceCountUtil;
import java.util.ArrayDeque;

/**
 * Base of the handlers that own a CONNECT stream until its tunnel is established. Once
 * {@link #hold()} is called, whatever else arrives on the stream (DATA frames, a reset, the
 * stream closing) is held, in order, until {@link Relay} takes the stream over and calls
 * {@link #handOff}; then it is replayed to the relay's handler and this handler leaves the pipeline.
 *
 * <p>Why: a stream with {@code AUTO_READ} off may still deliver several frames for one
 * {@code read()}, so DATA can arrive in the same batch as the HEADERS that opened the tunnel.
 * Dropping it would lose bytes. All methods run on the stream's event loop.
 */
abstract class HandoffHandler extends ChannelInboundHandlerAdapter {
  private boolean open;
  private boolean inactive;
  private final ArrayDeque<Object> held = new ArrayDeque<>(2);

  /** Called for reads before the tunnel is open. */
  abstract void readBeforeTunnel(ChannelHandlerContext ctx, Object msg);

  /** Called for user events (e.g. a reset) before the tunnel is open. */
  abstract void eventBeforeTunnel(ChannelHandlerContext ctx, Object evt);

  /** Called when the stream closes before the tunnel is open. */
  abstract void inactiveBeforeTunnel(ChannelHandlerContext ctx);

  /** From now on, hold what arrives for the relay. */
  final void hold() {
    open = true;
  }

  final boolean isHolding() {
    return open;
  }

  /** Adds a message to the held ones (e.g. a synthetic END_STREAM when HEADERS carried it). */
  final void holdMessage(Object msg) {
    held.add(msg);
  }

  @Override
  public final void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (open) {
      held.add(msg);
    } else {
      readBeforeTunnel(ctx, msg);
    }
  }

  @Override
  public final void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
    if (open) {
      held.add(evt);
    } else {
      eventBeforeTunnel(ctx, evt);
    }
  }

  @Override
  public final void channelInactive(ChannelHandlerContext ctx) {
    if (open) {
      inactive = true;
    } else {
      inactiveBeforeTunnel(ctx);
      ctx.fireChannelInactive();
    }
  }

  @Override
  public final void channelReadComplete(ChannelHandlerContext ctx) {
    if (!open) {
      ctx.fireChannelReadComplete();
    }
  }

  /**
   * Adds {@code handler} at the end of {@code stream}'s pipeline, replays whatever a
   * {@link HandoffHandler} held to it and asks for more. Must run on the stream's event loop.
   *
   * @return whether a {@link HandoffHandler} was found (and handed off)
   */
  static boolean attach(Channel stream, String name, ChannelHandler handler) {
    stream.pipeline().addLast(name, handler);
    HandoffHandler handoff = stream.pipeline().get(HandoffHandler.class);
    if (handoff != null) {
      handoff.handOff(java.util.Objects.requireNonNull(stream.pipeline().context(handoff)));
    }
    stream.read();
    return handoff != null;
  }

  /** Replays what was held to the handlers after this one, then removes this handler. */
  final void handOff(ChannelHandlerContext ctx) {
    boolean any = !held.isEmpty();
    for (Object o; (o = held.poll()) != null; ) {
      if (o instanceof io.netty.handler.codec.http2.Http2ResetFrame) {
        ctx.fireUserEventTriggered(o);
      } else {
        ctx.fireChannelRead(o);
      }
    }
    if (any) {
      ctx.fireChannelReadComplete();
    }
    boolean wasInactive = inactive;
    ctx.pipeline().remove(this);
    if (wasInactive) {
      ctx.fireChannelInactive();
    }
  }

  @Override
  public void handlerRemoved(ChannelHandlerContext ctx) {
    for (Object o; (o = held.poll()) != null; ) {
      ReferenceCountUtil.release(o);
    }
  }
}
