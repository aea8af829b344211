package dev.ambient.hbone;

import io.netty.channel.Channel;
import io.netty.channel.ChannelOption;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.DefaultHttp2HeadersFrame;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.codec.http2.Http2StreamChannelBootstrap;
import io.netty.util.concurrent.ScheduledFuture;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.jspecify.annotations.Nullable;

/**
 * One HTTP/2 connection of the pool. The stream count and idle timer are guarded by the owning
 * {@link KeyPool}'s lock; {@link #peerMaxStreams} and {@link #goingAway} are written on the
 * connection's event loop and read anywhere.
 */
final class PooledConnection {
  final Channel channel;
  private final KeyPool pool;
  private final int maxStreams;
  volatile int peerMaxStreams = Integer.MAX_VALUE;
  volatile boolean goingAway;

  // Guarded by pool.
  int active;
  long idleGeneration;
  @Nullable ScheduledFuture<?> idleTimer;

  PooledConnection(Channel channel, KeyPool pool, int maxStreams) {
    this.channel = channel;
    this.pool = pool;
    this.maxStreams = maxStreams;
  }

  /** GOAWAY received: no new streams here; existing ones finish. */
  void markGoingAway() {
    goingAway = true;
    pool.remove(this);
  }

  boolean usable() {
    return !goingAway && channel.isActive();
  }

  /** The effective stream cap: min(our cap, the server's SETTINGS_MAX_CONCURRENT_STREAMS). */
  int streamCap() {
    return Math.min(maxStreams, peerMaxStreams);
  }

  /** Opens a CONNECT stream on this connection, for which a slot was reserved. */
  CompletableFuture<HboneStream> openStream(HboneConnectRequest request, PoolKey key) {
    CompletableFuture<HboneStream> result = new CompletableFuture<>();
    Http2StreamChannelBootstrap b = new Http2StreamChannelBootstrap(channel)
        .option(ChannelOption.AUTO_READ, false)
        .handler(new ClientStreamHandler(result, key, request.authority()));
    b.open().addListener(f -> {
      if (!f.isSuccess()) {
        pool.release(this);
        result.completeExceptionally(HboneException.connectionLost(key.destination(), "cannot open a stream", f.cause()));
        return;
      }
      Http2StreamChannel stream = (Http2StreamChannel) f.getNow();
      pool.client().track(stream);
      stream.closeFuture().addListener(c -> pool.release(this));
      Http2Headers h = new DefaultHttp2Headers().method("CONNECT").authority(request.authority().toString());
      for (Map.Entry<String, String> e : request.headers().entrySet()) {
        h.add(e.getKey().toLowerCase(java.util.Locale.ROOT), e.getValue());
      }
      stream.writeAndFlush(new DefaultHttp2HeadersFrame(h, false)).addListener(w -> {
        if (!w.isSuccess()) {
          result.completeExceptionally(HboneException.connectionLost(key.destination(), "cannot send CONNECT", w.cause()));
          stream.close();
        } else {
          stream.read();
        }
      });
    });
    return result;
  }

  @Override
  public String toString() {
    return "PooledConnection{" + channel.localAddress() + "->" + channel.remoteAddress() + ", active=" + active + "}";
  }
}
