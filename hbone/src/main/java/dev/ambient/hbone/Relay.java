package dev.ambient.hbone;

import io.netty.channel.Channel;
import io.netty.handler.codec.http2.Http2StreamChannel;
import java.util.concurrent.CompletableFuture;

/**
 * Bidirectional copy between a TCP channel and an HTTP/2 (HBONE) stream. STUB.
 */
public final class Relay {
  private Relay() {}

  public static Relay start(Channel tcp, Http2StreamChannel stream) {
    throw new UnsupportedOperationException("stub");
  }

  public long bytesFromTcp() {
    throw new UnsupportedOperationException("stub");
  }

  public long bytesToTcp() {
    throw new UnsupportedOperationException("stub");
  }

  public CompletableFuture<RelayResult> completion() {
    throw new UnsupportedOperationException("stub");
  }
}
