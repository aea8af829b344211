package dev.ambient.ztunnel.admin;

import static java.util.Objects.requireNonNull;

import dev.ambient.net.Transport;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpContentCompressor;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.timeout.ReadTimeoutHandler;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One small HTTP/1.1 server on one or more addresses, answering every request through a {@link
 * Router}. Request bodies above {@link #MAX_REQUEST_BYTES} are refused (413); malformed requests get
 * 400; a route that throws gets 500 with the reason, and the listener keeps serving.
 *
 * <p>Buffers: the aggregated request is released by {@link SimpleChannelInboundHandler}; the reply
 * is a wrapped array written once, so nothing here can leak.
 */
final class HttpListener implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(HttpListener.class);
  static final int MAX_REQUEST_BYTES = 64 * 1024;
  static final int IDLE_TIMEOUT_SECONDS = 60;

  private final String name;
  private final List<Channel> servers;
  private final ChannelGroup connections;
  private final EventLoopGroup group;

  private HttpListener(String name, List<Channel> servers, ChannelGroup connections, EventLoopGroup group) {
    this.name = name;
    this.servers = List.copyOf(servers);
    this.connections = connections;
    this.group = group;
  }

  /**
   * Binds every address in order (port 0 in a later address means "the port the first one got")
   * and serves {@code router}. {@code compress}: gzip/deflate responses when Accept-Encoding allows.
   *
   * @throws AdminBindException naming the address and the reason when any bind fails (nothing stays bound)
   */
  static HttpListener start(String name, List<InetSocketAddress> binds, boolean compress, Router router) {
    requireNonNull(name, "name");
    requireNonNull(router, "router");
    if (binds.isEmpty()) {
      throw new IllegalArgumentException(name + ": no address to listen on");
    }
    Transport transport = Transport.defaultTransport();
    EventLoopGroup group = SharedHttpLoop.acquire();
    ChannelGroup connections = new DefaultChannelGroup(name + "-connections", GlobalEventExecutor.INSTANCE);
    ServerBootstrap b = new ServerBootstrap()
        .group(group)
        .channel(transport.serverSocketChannel())
        .option(ChannelOption.SO_REUSEADDR, true)
        .childOption(ChannelOption.TCP_NODELAY, true)
        .childHandler(new ChannelInitializer<Channel>() {
          @Override
          protected void initChannel(Channel ch) {
            connections.add(ch);
            ch.pipeline().addLast("idle", new ReadTimeoutHandler(IDLE_TIMEOUT_SECONDS, TimeUnit.SECONDS));
            ch.pipeline().addLast("http", new HttpServerCodec());
            if (compress) {
              ch.pipeline().addLast("compress", new HttpContentCompressor());
            }
            ch.pipeline().addLast("aggregate", new HttpObjectAggregator(MAX_REQUEST_BYTES));
            ch.pipeline().addLast("route", new RouteHandler(name, router));
          }
        });
    List<Channel> bound = new ArrayList<>();
    int firstPort = -1;
    for (InetSocketAddress bind : binds) {
      InetSocketAddress target = bind.getPort() == 0 && firstPort > 0
          ? new InetSocketAddress(bind.getAddress(), firstPort) : bind;
      // await + isSuccess, not sync: a failed bind's cause is a checked (sneaky-thrown) IOException.
      ChannelFuture f = b.bind(target).awaitUninterruptibly();
      if (!f.isSuccess()) {
        bound.forEach(ch -> ch.close().awaitUninterruptibly());
        SharedHttpLoop.release(group);
        throw new AdminBindException(name, target, f.cause());
      }
      Channel ch = f.channel();
      bound.add(ch);
      if (firstPort < 0) {
        firstPort = ((InetSocketAddress) ch.localAddress()).getPort();
      }
      log.info("{} listening on {} ({})", name, ch.localAddress(), transport.label());
    }
    return new HttpListener(name, bound, connections, group);
  }

  /** The bound addresses, in bind order. */
  List<InetSocketAddress> localAddresses() {
    return servers.stream().map(ch -> (InetSocketAddress) ch.localAddress()).toList();
  }

  /** Stops listening, closes open connections, gives the shared loop back; waits up to a few seconds. */
  @Override
  public void close() {
    servers.forEach(ch -> ch.close().syncUninterruptibly());
    connections.close().awaitUninterruptibly(2, TimeUnit.SECONDS);
    SharedHttpLoop.release(group);
    log.debug("{} closed", name);
  }

  /** Hands each aggregated request to the router and writes its reply. */
  private static final class RouteHandler extends SimpleChannelInboundHandler<FullHttpRequest> {
    private final String name;
    private final Router router;

    RouteHandler(String name, Router router) {
      this.name = name;
      this.router = router;
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest msg) {
      boolean keepAlive = HttpUtil.isKeepAlive(msg);
      if (msg.decoderResult().isFailure()) {
        write(ctx, Reply.text(HttpResponseStatus.BAD_REQUEST,
            "bad request: " + msg.decoderResult().cause() + "\n"), false);
        return;
      }
      Request request = Request.of(msg.method(), msg.uri(), msg.headers().copy());
      CompletionStage<Reply> reply;
      try {
        reply = router.route(request);
      } catch (RuntimeException e) {
        log.warn("{}: {} {} failed", name, request.method(), request.path(), e);
        write(ctx, Reply.text(HttpResponseStatus.INTERNAL_SERVER_ERROR, "error: " + e + "\n"), keepAlive);
        return;
      }
      reply.whenComplete((r, e) -> {
        if (e != null) {
          log.warn("{}: {} {} failed", name, request.method(), request.path(), e);
          write(ctx, Reply.text(HttpResponseStatus.INTERNAL_SERVER_ERROR, "error: " + e + "\n"), keepAlive);
        } else {
          write(ctx, r, keepAlive);
        }
      });
    }

    private static void write(ChannelHandlerContext ctx, Reply reply, boolean keepAlive) {
      FullHttpResponse response = new DefaultFullHttpResponse(
          HttpVersion.HTTP_1_1, reply.status(), Unpooled.wrappedBuffer(reply.body()));
      response.headers()
          .set(HttpHeaderNames.CONTENT_TYPE, reply.contentType())
          .setInt(HttpHeaderNames.CONTENT_LENGTH, reply.body().length);
      if (!keepAlive) {
        response.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
      }
      // writeAndFlush is safe from any thread: Netty hands it to the channel's event loop.
      var written = ctx.writeAndFlush(response);
      if (!keepAlive) {
        written.addListener(ChannelFutureListener.CLOSE);
      }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      log.debug("{}: connection from {} failed: {}", name, ctx.channel().remoteAddress(), cause.toString());
      ctx.close();
    }
  }
}
