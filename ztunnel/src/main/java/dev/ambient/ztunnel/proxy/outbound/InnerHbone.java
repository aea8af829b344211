package dev.ambient.ztunnel.proxy.outbound;

import static java.util.Objects.requireNonNull;

import dev.ambient.hbone.Authority;
import dev.ambient.hbone.HboneException;
import dev.ambient.hbone.HboneStream;
import dev.ambient.hbone.Http2Config;
import dev.ambient.hbone.Relay;
import dev.ambient.identity.HboneTls;
import dev.ambient.identity.SpiffeId;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http2.DefaultHttp2DataFrame;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.DefaultHttp2HeadersFrame;
import io.netty.handler.codec.http2.DefaultHttp2WindowUpdateFrame;
import io.netty.handler.codec.http2.Http2DataFrame;
import io.netty.handler.codec.http2.Http2FrameCodec;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.handler.codec.http2.Http2ResetFrame;
import io.netty.handler.codec.http2.Http2Settings;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.codec.http2.Http2StreamChannelBootstrap;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLException;
import org.jspecify.annotations.Nullable;

/**
 * The inner, unpooled HBONE connection of double HBONE (spec §4.7), run inside an established outer
 * HBONE stream to a network gateway: TLS with the source workload's certificate (expecting the
 * service's identities), HTTP/2, one CONNECT stream, then the application socket relayed to it.
 *
 * <p>The outer stream is an {@code Http2StreamChannel} carrying {@link Http2DataFrame}s; a small
 * codec at the head of its pipeline turns them into bytes, so the inner {@link SslHandler}, HTTP/2
 * frame codec and multiplexer sit on the outer stream's pipeline as they would on a socket. The
 * outer stream reads freely (auto-read): what it buffers is bounded by the inner connection's
 * HTTP/2 windows, which are refunded only as fast as the application takes the bytes. Closing
 * the outer stream ends the inner connection; it is closed when the relay ends.
 */
final class InnerHbone {
  private static final Http2Config HTTP2 = Http2Config.clientDefaults();

  private final HboneStream outer;
  private final HboneTls tls;
  private final List<SpiffeId> expected;
  private final Authority authority;
  private final Map<String, String> headers;
  private final Channel app;
  private final Object where;
  private final CompletableFuture<Relay> result = new CompletableFuture<>();

  private InnerHbone(HboneStream outer, HboneTls tls, List<SpiffeId> expected, Authority authority,
      Map<String, String> headers, Channel app) {
    this.outer = outer;
    this.tls = tls;
    this.expected = List.copyOf(expected);
    this.authority = authority;
    this.headers = Map.copyOf(headers);
    this.app = app;
    this.where = "inner HBONE to " + authority + " via " + outer.key().destination();
  }

  /**
   * Opens the inner tunnel inside {@code outer} and, once its CONNECT is answered 200, starts a
   * {@link Relay} between {@code app} and the inner stream (its TCP handler is added on {@code app}'s
   * loop, after whatever is queued there). Fails with an {@link HboneException}: {@code TLS_FAILURE}
   * when the peer is not one of {@code expected}, {@code HTTP_STATUS} for a non-200 answer, {@code
   * CONNECTION_LOST} when nothing was answered within {@code timeout}; with an {@link IOException}
   * when {@code app} closes first. On failure, and when the relay ends, the outer stream is closed.
   * Any thread.
   */
  static CompletableFuture<Relay> open(HboneStream outer, HboneTls tls, List<SpiffeId> expected, Authority authority,
      Map<String, String> headers, Channel app, Duration timeout) {
    InnerHbone inner = new InnerHbone(requireNonNull(outer, "outer"), requireNonNull(tls, "tls"), expected,
        requireNonNull(authority, "authority"), headers, requireNonNull(app, "app"));
    inner.start(timeout);
    return inner.result;
  }

  private void start(Duration timeout) {
    Http2StreamChannel ch = outer.channel();
    ch.closeFuture().addListener(f -> fail(HboneException.connectionLost(where, "outer stream closed", null)));
    result.whenComplete((relay, err) -> {
      if (err != null) {
        ch.close();
      } else {
        relay.completion().whenComplete((r, e) -> ch.close());
      }
    });
    app.closeFuture().addListener(f -> fail(new IOException("client closed before the tunnel was up")));
    ScheduledFuture<?> timer = ch.eventLoop().schedule(
        () -> fail(HboneException.connectionLost(where, "no answer within " + timeout.toMillis() + " ms", null)),
        timeout.toMillis(), TimeUnit.MILLISECONDS);
    result.whenComplete((r, e) -> timer.cancel(false));
    outer.attach(new ChannelInitializer<Channel>() {
      @Override
      protected void initChannel(Channel c) {
        c.config().setAutoRead(true);
        SslHandler ssl = tls.newClientHandler(c.alloc(), expected);
        c.pipeline()
            .addLast("inner-bytes", new DataFrameBytes())
            .addLast("inner-tls", ssl)
            .addLast("inner-handshake", new Handshake(ssl));
      }
    });
  }

  private void fail(Throwable t) {
    result.completeExceptionally(t);
  }

  private static boolean hasSslCause(Throwable t) {
    for (Throwable c = t; c != null; c = c.getCause() == c ? null : c.getCause()) {
      if (c instanceof SSLException) {
        return true;
      }
    }
    return false;
  }

  /** Outer DATA frames ⇄ the inner connection's bytes. END_STREAM or a reset from the gateway ends it. */
  private final class DataFrameBytes extends ChannelDuplexHandler {
    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      if (msg instanceof Http2DataFrame data) {
        boolean end = data.isEndStream();
        ByteBuf content = data.content();
        if (content.isReadable()) {
          ctx.fireChannelRead(content);
        } else {
          content.release();
        }
        if (end) {
          ctx.fireChannelReadComplete();
          fail(HboneException.connectionLost(where, "the gateway ended the outer stream", null));
          ctx.close();
        }
      } else {
        ReferenceCountUtil.release(msg);
      }
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
      if (evt instanceof Http2ResetFrame reset) {
        fail(HboneException.streamReset(where, authority.toString(), reset.errorCode()));
        ctx.close();
        return;
      }
      ctx.fireUserEventTriggered(evt);
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
      if (msg instanceof ByteBuf buf) {
        if (buf.isReadable()) {
          ctx.write(new DefaultHttp2DataFrame(buf), promise);
        } else {
          buf.release();
          promise.setSuccess();
        }
      } else {
        ctx.write(msg, promise);
      }
    }
  }

  /** Inner TLS handshake and ALPN check, then HTTP/2 and the CONNECT stream. */
  private final class Handshake extends ChannelInboundHandlerAdapter {
    private final SslHandler ssl;

    Handshake(SslHandler ssl) {
      this.ssl = ssl;
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
      if (!(evt instanceof SslHandshakeCompletionEvent done)) {
        ctx.fireUserEventTriggered(evt);
        return;
      }
      if (!done.isSuccess()) {
        fail(HboneException.tlsFailure(where, done.cause()));
        ctx.close();
        return;
      }
      if (!ApplicationProtocolNames.HTTP_2.equals(ssl.applicationProtocol())) {
        fail(HboneException.tlsFailure(where,
            new IllegalStateException("peer negotiated ALPN " + ssl.applicationProtocol() + ", not h2")));
        ctx.close();
        return;
      }
      Http2FrameCodec codec = Http2FrameCodecBuilder.forClient()
          .initialSettings(new Http2Settings()
              .initialWindowSize(HTTP2.streamWindow())
              .maxFrameSize(HTTP2.maxFrameSize())
              .maxHeaderListSize(HTTP2.maxHeaderListSize())
              .pushEnabled(false))
          .validateHeaders(true)
          .autoAckPingFrame(true)
          .build();
      Channel c = ctx.channel();
      ctx.pipeline().replace(this, "inner-h2", codec);
      c.pipeline().addLast("inner-multiplex", new Http2MultiplexHandler(new ChannelInboundHandlerAdapter()));
      c.pipeline().addLast("inner-errors", new Errors());
      var connection = codec.connection();
      int delta = HTTP2.connectionWindow()
          - connection.local().flowController().initialWindowSize(connection.connectionStream());
      if (delta > 0) {
        c.writeAndFlush(new DefaultHttp2WindowUpdateFrame(delta));
      }
      new Http2StreamChannelBootstrap(c)
          .option(ChannelOption.AUTO_READ, false)
          .handler(new Connect())
          .open()
          .addListener(f -> {
            if (!f.isSuccess()) {
              fail(HboneException.connectionLost(where, "cannot open the inner stream", f.cause()));
            }
          });
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      failed(ctx, cause);
    }
  }

  private void failed(ChannelHandlerContext ctx, Throwable cause) {
    fail(hasSslCause(cause) ? HboneException.tlsFailure(where, cause)
        : HboneException.connectionLost(where, "inner connection failed", cause));
    ctx.close();
  }

  /**
   * The end of the inner connection's pipeline: drops connection-level frames (SETTINGS, PING acks,
   * GOAWAY: the single stream notices a lost connection itself) and maps errors, e.g. a TLS alert
   * after our handshake (TLS 1.3 client-certificate refusal).
   */
  private final class Errors extends ChannelInboundHandlerAdapter {
    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      ReferenceCountUtil.release(msg);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      failed(ctx, cause);
    }
  }

  /** The inner CONNECT stream: sends the request, waits for the answer, hands the stream to the relay. */
  private final class Connect extends ChannelInboundHandlerAdapter {
    @Override
    public void channelActive(ChannelHandlerContext ctx) {
      Http2Headers h = new DefaultHttp2Headers().method("CONNECT").authority(authority.toString());
      headers.forEach(h::set);
      ctx.writeAndFlush(new DefaultHttp2HeadersFrame(h, false)).addListener(f -> {
        if (!f.isSuccess()) {
          fail(HboneException.connectionLost(where, "cannot send the inner CONNECT", f.cause()));
          ctx.close();
        }
      });
      ctx.read();
      ctx.fireChannelActive();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      if (!(msg instanceof Http2HeadersFrame frame)) {
        ReferenceCountUtil.release(msg);
        fail(HboneException.connectionLost(where, "DATA before the inner CONNECT response", null));
        ctx.close();
        return;
      }
      int status = status(frame.headers().status());
      if (status >= 100 && status < 200) {
        ctx.read();
        return;
      }
      if (status != 200) {
        fail(HboneException.httpStatus(where, authority.toString(), status));
        ctx.close();
        return;
      }
      if (frame.isEndStream() || result.isDone()) {
        fail(HboneException.connectionLost(where, "inner CONNECT answered with END_STREAM", null));
        ctx.close();
        return;
      }
      // Later frames of this batch go to the relay's handler, added behind this one.
      Relay relay = Relay.start(app, ctx.channel());
      ctx.pipeline().remove(this);
      if (!result.complete(relay)) {
        ctx.close();
      }
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
      if (evt instanceof Http2ResetFrame reset) {
        fail(HboneException.streamReset(where, authority.toString(), reset.errorCode()));
      }
      ctx.fireUserEventTriggered(evt);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
      fail(HboneException.connectionLost(where, "inner stream closed before the CONNECT was answered", null));
      ctx.fireChannelInactive();
    }

    private static int status(@Nullable CharSequence s) {
      if (s == null || s.length() != 3) {
        return -1;
      }
      try {
        return Integer.parseInt(s.toString());
      } catch (NumberFormatException e) {
        return -1;
      }
    }
  }
}
