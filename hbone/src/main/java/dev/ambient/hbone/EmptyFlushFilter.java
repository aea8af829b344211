package dev.ambient.hbone;

import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;

/**
 * Sits between the TLS handler and the HTTP/2 codec and drops flushes that follow no write.
 *
 * <p>{@code Http2ConnectionHandler} flushes at the end of every read batch, whether or not the
 * batch produced anything to send; for a connection that only receives DATA (one direction of a
 * request) that is one empty flush per request. {@code SslHandler} turns each flush into a wrap of
 * an empty buffer with two promises and a listener, and the transport into a flush of nothing. A
 * flush is forwarded if anything was written through this handler since the last forwarded flush,
 * so every byte that goes down is still flushed exactly as before; {@code SslHandler} flushes its
 * own handshake and alert records itself. The first flush always passes (the codec may have
 * written its preface before this handler was added).
 *
 * <p>{@code -Dambient.hbone.skipEmptyFlush=false} forwards every flush (for A/B measurements).
 */
final class EmptyFlushFilter extends ChannelDuplexHandler {
  static final String NAME = "h2-empty-flush-filter";
  static final boolean ENABLED = Boolean.parseBoolean(System.getProperty("ambient.hbone.skipEmptyFlush", "true"));

  private boolean written = true;

  @Override
  public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
    written = true;
    ctx.write(msg, promise);
  }

  @Override
  public void flush(ChannelHandlerContext ctx) {
    if (written) {
      written = false;
      ctx.flush();
    }
  }
}
