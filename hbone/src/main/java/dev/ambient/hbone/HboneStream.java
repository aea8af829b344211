package dev.ambient.hbone;

import io.netty.channel.Channel;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2StreamChannel;

/**
 * An open HBONE tunnel on the client side: the CONNECT was answered 200. The byte stream is the
 * {@link #channel()} ({@code AUTO_READ} off; data arrives as {@code Http2DataFrame}s). Either hand
 * it to {@link #relay(Channel)} or drive it directly. STUB.
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

  /** Starts relaying between {@code tcp} and this stream. */
  public Relay relay(Channel tcp) {
    return Relay.start(tcp, channel);
  }
}
