package dev.ambient.hbone;

import dev.ambient.identity.SpiffeId;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http2.DefaultHttp2DataFrame;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.DefaultHttp2HeadersFrame;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.handler.codec.http2.Http2ResetFrame;
import io.netty.util.AsciiString;
import io.netty.util.ReferenceCountUtil;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionStage;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One inbound CONNECT stream on the server: checks the method (else 400) and the authority (else
 * 400), asks the {@link HboneHandler}, connects upstream on an accept, answers 200 only when that
 * connect succeeded (else 503), then hands the stream to a {@link Relay}. Runs on the stream's
 * event loop.
 */
final class ServerStreamHandler extends HandoffHandler {
  private static final Logger log = LoggerFactory.getLogger(ServerStreamHandler.class);
  private static final AsciiString CONNECT = AsciiString.cached("CONNECT");

  private final HboneHandler app;
  private final SpiffeId peer;
  private final InetSocketAddress remote;
  private final InetSocketAddress local;
  private boolean headersSeen;
  private boolean answered;
  private @Nullable Channel upstream;

  ServerStreamHandler(HboneHandler app, SpiffeId peer, InetSocketAddress remote, InetSocketAddress local) {
    this.app = app;
    this.peer = peer;
    this.remote = remote;
    this.local = local;
  }

  @Override
  public void channelActive(ChannelHandlerContext ctx) {
    ctx.read();
    ctx.fireChannelActive();
  }

  @Override
  void readBeforeTunnel(ChannelHandlerContext ctx, Object msg) {
    try {
      if (msg instanceof Http2HeadersFrame frame && !headersSeen) {
        headersSeen = true;
        onHeaders(ctx, frame);
      }
      // Anything else before a decision (DATA after a refusal, trailers) is dropped.
    } finally {
      ReferenceCountUtil.release(msg);
    }
    if (!isHolding()) {
      ctx.read();
    }
  }

  private void onHeaders(ChannelHandlerContext ctx, Http2HeadersFrame frame) {
    Http2Headers h = frame.headers();
    CharSequence method = h.method();
    if (method == null || !CONNECT.contentEquals(method)) {
      refuse(ctx, 400, "method " + method + " is not CONNECT");
      return;
    }
    CharSequence rawAuthority = h.authority();
    Authority authority = Authority.parse(rawAuthority).orElse(null);
    if (authority == null) {
      refuse(ctx, 400, "authority '" + rawAuthority + "' is not IP:port or host:port");
      return;
    }
    hold();
    if (frame.isEndStream()) {
      holdMessage(new DefaultHttp2DataFrame(true));
    }
    HboneRequest request = new HboneRequest(peer, authority, regularHeaders(h), remote, local);
    CompletionStage<HboneDecision> decision;
    try {
      decision = app.onConnect(request);
    } catch (RuntimeException e) {
      log.warn("HBONE handler failed for CONNECT {} from {}", authority, peer, e);
      refuse(ctx, 503, "handler failed: " + e);
      return;
    }
    decision.whenComplete((d, err) -> {
      if (ctx.executor().inEventLoop()) {
        decide(ctx, request, d, err);
      } else {
        ctx.executor().execute(() -> decide(ctx, request, d, err));
      }
    });
  }

  private void decide(
      ChannelHandlerContext ctx, HboneRequest request, @Nullable HboneDecision decision, @Nullable Throwable err) {
    if (!ctx.channel().isActive()) {
      return; // the client went away while we were deciding
    }
    if (err != null || decision == null) {
      log.warn("HBONE handler failed for CONNECT {} from {}", request.authority(), request.peerIdentity(), err);
      refuse(ctx, 503, "handler failed");
      return;
    }
    switch (decision) {
      case HboneDecision.Reject r -> refuse(ctx, r.status(), r.reason());
      case HboneDecision.Accept a -> connect(ctx, request, a);
    }
  }

  private void connect(ChannelHandlerContext ctx, HboneRequest request, HboneDecision.Accept accept) {
    ChannelFuture cf;
    try {
      cf = accept.connector().connect(ctx.channel().eventLoop());
    } catch (RuntimeException e) {
      refuse(ctx, 503, "upstream connect failed: " + e);
      return;
    }
    upstream = cf.channel();
    cf.addListener(f -> {
      if (!f.isSuccess()) {
        refuse(ctx, 503, "upstream connect to " + request.authority() + " failed: " + f.cause());
        return;
      }
      Channel up = cf.channel();
      if (!ctx.channel().isActive()) {
        up.close();
        return;
      }
      Http2Headers ok = new DefaultHttp2Headers().status("200");
      accept.responseHeaders().forEach(ok::add);
      answered = true;
      ctx.writeAndFlush(new DefaultHttp2HeadersFrame(ok, false));
      Relay.start(up, ctx.channel());
    });
  }

  private void refuse(ChannelHandlerContext ctx, int status, String reason) {
    log.debug("HBONE CONNECT from {} ({}) refused with {}: {}", peer, remote, status, reason);
    answered = true;
    ctx.writeAndFlush(new DefaultHttp2HeadersFrame(new DefaultHttp2Headers().status(Integer.toString(status)), true));
  }

  @Override
  void eventBeforeTunnel(ChannelHandlerContext ctx, Object evt) {
    if (evt instanceof Http2ResetFrame && upstream != null) {
      upstream.close();
    }
    ctx.fireUserEventTriggered(evt);
  }

  @Override
  void inactiveBeforeTunnel(ChannelHandlerContext ctx) {
    if (upstream != null && !answered) {
      upstream.close();
    }
  }

  @Override
  public void handlerRemoved(ChannelHandlerContext ctx) {
    super.handlerRemoved(ctx);
    // Held frames are released by the base; an upstream connected for a stream that died before
    // the relay started must not linger.
    if (upstream != null && !ctx.channel().isActive() && !answered) {
      upstream.close();
    }
  }

  private static Map<String, List<String>> regularHeaders(Http2Headers h) {
    Map<String, List<String>> out = new LinkedHashMap<>();
    for (Map.Entry<CharSequence, CharSequence> e : h) {
      String name = e.getKey().toString();
      if (!name.startsWith(":")) {
        out.computeIfAbsent(name, k -> new ArrayList<>(1)).add(e.getValue().toString());
      }
    }
    return out;
  }
}
