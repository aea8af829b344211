package dev.ambient.hbone;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import java.util.List;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.handler.codec.http2.DefaultHttp2WindowUpdateFrame;
import io.netty.handler.codec.http2.Http2Connection;
import io.netty.handler.codec.http2.Http2FrameCodec;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2Settings;

/** Builds the HTTP/2 frame codecs of both sides from an {@link Http2Config} (spec §4.4). */
final class Http2Codecs {
  private Http2Codecs() {}

  static Http2FrameCodec server(Http2Config c) {
    return build(Http2FrameCodecBuilder.forServer(), settings(c).maxConcurrentStreams(c.maxConcurrentStreams()), c);
  }

  static Http2FrameCodec client(Http2Config c) {
    return build(Http2FrameCodecBuilder.forClient(), settings(c).pushEnabled(false), c);
  }

  /**
   * Replaces {@code handshake} (the handler that waited for TLS) with the HTTP/2 codec, then adds
   * the keepalive, {@code extra} handlers and the multiplexer, and raises the connection window.
   * Runs on the connection's event loop.
   */
  static void install(ChannelHandlerContext handshake, Http2FrameCodec codec, Http2Config c,
      List<ChannelHandler> extra, Http2MultiplexHandler multiplex) {
    Channel ch = handshake.channel();
    handshake.pipeline().replace(handshake.handler(), "h2", codec);
    ch.pipeline().addLast("h2-keepalive", new Http2KeepaliveHandler(c.keepaliveInterval(), c.keepaliveTimeout()));
    for (int i = 0; i < extra.size(); i++) {
      ch.pipeline().addLast("h2-extra-" + i, extra.get(i));
    }
    ch.pipeline().addLast("h2-multiplex", multiplex);
    raiseConnectionWindow(ch, codec, c);
  }

  private static Http2FrameCodec build(Http2FrameCodecBuilder b, Http2Settings s, Http2Config c) {
    Http2FrameCodec codec = b.initialSettings(s)
        .validateHeaders(true)
        .autoAckPingFrame(true)
        .decoderEnforceMaxRstFramesPerWindow(c.maxResetsPerWindow(), (int) c.resetWindow().toSeconds())
        .build();
    return withoutCopies(codec);
  }

  /**
   * DATA frames are up to 1 MiB and arrive in many TLS records; the default cumulator copies each
   * record into one growing buffer until the frame is complete (about a fifth of the receive
   * side's CPU in the profile of {@code ./ambient bench hbone}). A composite cumulator collects
   * the records without copying.
   */
  private static Http2FrameCodec withoutCopies(Http2FrameCodec codec) {
    codec.setCumulator(ByteToMessageDecoder.COMPOSITE_CUMULATOR);
    return codec;
  }

  private static Http2Settings settings(Http2Config c) {
    return new Http2Settings()
        .initialWindowSize(c.streamWindow())
        .maxFrameSize(c.maxFrameSize())
        .maxHeaderListSize(c.maxHeaderListSize());
  }

  /**
   * Raises the connection-level receive window to the configured size. The codec may already have
   * grown it (Netty adds the stream-window increase of the initial SETTINGS to it), so only the
   * difference is sent. Runs on the channel's event loop, right after the codec was added.
   */
  private static void raiseConnectionWindow(Channel ch, Http2FrameCodec codec, Http2Config c) {
    Http2Connection connection = codec.connection();
    int current = connection.local().flowController().initialWindowSize(connection.connectionStream());
    int delta = c.connectionWindow() - current;
    if (delta > 0) {
      ch.writeAndFlush(new DefaultHttp2WindowUpdateFrame(delta));
    }
  }
}
