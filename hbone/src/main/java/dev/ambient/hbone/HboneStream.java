package dev.ambient.hbone;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2StreamChannel;

/**
 * An open HBONE tunnel on the client side: the CONNECT was answered 200. The byte stream is the
 * {@link #channel()}, an HTTP/2 stream channel with {@code AUTO_READ} off: write
 * {@code Http2DataFrame}s to send (END_STREAM to half-close), read {@code Http2DataFrame}s.
 *
 * <p>Use it one of two ways, once: {@link #relay(Channel)} to copy to and from a TCP channel, or
 * {@link #attach(ChannelHandler)} to drive it with your own handler. Until then, DATA that arrived
 * with or after the 200 is held, not lost; closing the channel releases it.
 */
public final class HboneStream {
  private final Http2StreamChannel channel;
  private final Http2Headers responseHeaders;
  private final PoolKey key;

  HboneStream(Http2StreamChannel channel, Http2Headers responseHeaders, PoolKey key) {
    this.channel = channel;
    this.responseHeaders = responseHeaders;
    this.key = key;
  }

  public Http2StreamChannel channel() {
    return channel;
  }

  public Http2Headers responseHeaders() {
    return responseHeaders;
  }

  public PoolKey key() {
    return key;
  }

  /**
   * Adds {@code handler} to the stream's pipeline, delivers what was held to it and starts reading
   * (later reads are the handler's to request, e.g. in {@code channelReadComplete}). Any thread.
   */
  public void attach(ChannelHandler handler) {
    if (channel.eventLoop().inEventLoop()) {
      HandoffHandler.attach(channel, "hbone-app", handler);
    } else {
      channel.eventLoop().execute(() -> HandoffHandler.attach(channel, "hbone-app", handler));
    }
  }

  /** Starts relaying between {@code tcp} and this stream. */
  public Relay relay(Channel tcp) {
    return Relay.start(tcp, channel);
  }
}
