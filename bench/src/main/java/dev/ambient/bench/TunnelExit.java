package dev.ambient.bench;

import dev.ambient.hbone.HboneDecision;
import dev.ambient.hbone.HboneServer;
import dev.ambient.hbone.Http2Config;
import dev.ambient.hbone.UpstreamConnector;
import dev.ambient.identity.HboneTls;
import dev.ambient.net.Transport;
import io.netty.channel.EventLoopGroup;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;

/**
 * The HBONE server side of the benchmark tunnel: accepts every CONNECT whose authority is an
 * {@code IP:port} and connects to it over plain TCP.
 */
public final class TunnelExit implements AutoCloseable {
  private final EventLoopGroup group;
  private final HboneServer server;

  public TunnelExit(HboneTls tls, Transport transport, int eventLoops, InetSocketAddress bind) {
    this(tls, transport, eventLoops, bind, Http2Config.serverDefaults());
  }

  public TunnelExit(HboneTls tls, Transport transport, int eventLoops, InetSocketAddress bind, Http2Config http2) {
    this.group = transport.newEventLoopGroup(eventLoops, "hbone-exit");
    this.server = HboneServer.builder()
        .transport(transport)
        .eventLoopGroup(group)
        .tls(tls)
        .bind(bind)
        .http2(http2)
        .handler(request -> CompletableFuture.completedFuture(request.authority().socketAddress()
            .<HboneDecision>map(target -> HboneDecision.accept(
                UpstreamConnector.tcp(target, transport, Duration.ofSeconds(5))))
            .orElseGet(() -> HboneDecision.reject(400, "authority is not IP:port"))))
        .start();
  }

  public InetSocketAddress localAddress() {
    return server.localAddress();
  }

  @Override
  public void close() {
    try {
      server.close();
    } finally {
      group.shutdownGracefully(0, 1, java.util.concurrent.TimeUnit.SECONDS).syncUninterruptibly();
    }
  }
}
