package dev.ambient.ztunnel.proxy.inbound;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;

/**
 * Counts the bytes read from and written to the upstream socket of an HBONE tunnel (hbone's relay
 * runs inside the HBONE server and does not expose its counters). Sits first in the pipeline.
 */
final class ByteCounter extends ChannelDuplexHandler {
  static final String NAME = "inbound-byte-counter";

  // Single writer each: the channel's event loop.
  private volatile long written;
  private volatile long read;

  /** Bytes written upstream: client to server. */
  long written() {
    return written;
  }

  /** Bytes read from upstream: server to client. */
  long read() {
    return read;
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (msg instanceof ByteBuf b) {
      read += b.readableBytes();
    }
    ctx.fireChannelRead(msg);
  }

  @Override
  public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
    if (msg instanceof ByteBuf b) {
      written += b.readableBytes();
    }
    ctx.write(msg, promise);
  }
}
