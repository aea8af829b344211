package dev.ambient.hbone;

import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http2.DefaultHttp2DataFrame;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.handler.codec.http2.Http2ResetFrame;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.util.ReferenceCountUtil;
import java.util.concurrent.CompletableFuture;

/**
 * Client side of one CONNECT stream: waits for the response HEADERS. 200 completes the future with
 * an {@link HboneStream} (later frames are held for the relay); any other final status, a reset or
 * the stream closing fails it with an {@link HboneException}. Runs on the stream's event loop.
 */
final class ClientStreamHandler extends HandoffHandler {
  private final CompletableFuture<HboneStream> result;
  private final PoolKey key;
  private final Authority authority;

  ClientStreamHandler(CompletableFuture<HboneStream> result, PoolKey key, Authority authority) {
    this.result = result;
    this.key = key;
    this.authority = authority;
  }

  @Override
  void readBeforeTunnel(ChannelHandlerContext ctx, Object msg) {
    try {
      if (msg instanceof Http2HeadersFrame frame) {
        CharSequence statusText = frame.headers().status();
        int status = parseStatus(statusText);
        if (status >= 100 && status < 200) {
          ctx.read(); // informational: wait for the final answer
          return;
        }
        if (status == 200) {
          hold();
          if (frame.isEndStream()) {
            holdMessage(new DefaultHttp2DataFrame(true));
          }
          if (!result.complete(new HboneStream((Http2StreamChannel) ctx.channel(), frame.headers(), key))) {
            ctx.close(); // the caller gave up meanwhile
          }
          return;
        }
        result.completeExceptionally(HboneException.httpStatus(key.destination(), authority.toString(), status));
        ctx.close();
        return;
      }
      // DATA before the response HEADERS is a protocol violation by the server.
      result.completeExceptionally(HboneException.connectionLost(key.destination(), "DATA before the CONNECT response", null));
      ctx.close();
    } finally {
      ReferenceCountUtil.release(msg);
    }
  }

  @Override
  void eventBeforeTunnel(ChannelHandlerContext ctx, Object evt) {
    if (evt instanceof Http2ResetFrame reset) {
      result.completeExceptionally(HboneException.streamReset(key.destination(), authority.toString(), reset.errorCode()));
    }
    ctx.fireUserEventTriggered(evt);
  }

  @Override
  void inactiveBeforeTunnel(ChannelHandlerContext ctx) {
    result.completeExceptionally(
        HboneException.connectionLost(key.destination(), "stream closed before the CONNECT was answered", null));
  }

  private static int parseStatus(CharSequence s) {
    if (s == null || s.length() != 3) {
      return -1;
    }
    int v = 0;
    for (int i = 0; i < 3; i++) {
      char c = s.charAt(i);
      if (c < '0' || c > '9') {
        return -1;
      }
      v = v * 10 + (c - '0');
    }
    return v;
  }
}
