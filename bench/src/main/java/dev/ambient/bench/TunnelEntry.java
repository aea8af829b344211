package dev.ambient.bench;

import dev.ambient.hbone.Authority;
import dev.ambient.hbone.HboneClient;
import dev.ambient.hbone.HboneConnectRequest;
import dev.ambient.hbone.HboneStream;
import dev.ambient.identity.HboneTls;
import dev.ambient.identity.SpiffeId;
import dev.ambient.net.Transport;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.handler.ssl.SslHandler;
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The client side of the benchmark tunnel: a plain TCP listener; every accepted connection gets an
 * HBONE stream to {@code server} with {@code :authority = target}, and {@link HboneStream#relay}.
 * The listener and the HBONE client share one event-loop group.
 */
public final class TunnelEntry implements AutoCloseable {
  private final EventLoopGroup group;
  private final HboneClient client;
  private final Channel listener;
  private final AtomicBoolean cipherLogged = new AtomicBoolean();

  public TunnelEntry(HboneTls tls, Transport transport, int eventLoops, InetSocketAddress bind,
      InetSocketAddress server, SpiffeId serverId, InetSocketAddress target) {
    this.group = transport.newEventLoopGroup(eventLoops, "hbone-entry");
    this.client = HboneClient.builder().transport(transport).eventLoopGroup(group).build();
    HboneConnectRequest request = HboneConnectRequest.of(tls, serverId, server, Authority.of(target));
    this.listener = new ServerBootstrap()
        .group(group)
        .channel(transport.serverSocketChannel())
        .childOption(ChannelOption.AUTO_READ, false)
        .childOption(ChannelOption.ALLOW_HALF_CLOSURE, true)
        .childOption(ChannelOption.TCP_NODELAY, true)
        .childHandler(new ChannelInitializer<Channel>() {
          @Override
          protected void initChannel(Channel tcp) {
            client.open(request).whenComplete((stream, err) -> {
              if (err != null) {
                System.err.println("tunnel-entry: open failed: " + err);
                tcp.close();
                return;
              }
              logCipher(stream);
              tcp.eventLoop().execute(() -> stream.relay(tcp).completion().whenComplete((r, e) -> {
                if (e != null || r.outcome() != dev.ambient.hbone.RelayResult.Outcome.CLEAN) {
                  System.err.println("tunnel-entry: relay ended: " + (e != null ? e : r));
                }
              }));
            });
          }
        })
        .bind(bind).syncUninterruptibly().channel();
  }

  private void logCipher(HboneStream stream) {
    if (cipherLogged.compareAndSet(false, true)) {
      SslHandler ssl = stream.channel().parent().pipeline().get(SslHandler.class);
      if (ssl != null) {
        System.err.println("tunnel-entry: HBONE connection " + ssl.engine().getSession().getProtocol() + " "
            + ssl.engine().getSession().getCipherSuite() + " engine=" + ssl.engine().getClass().getSimpleName());
      }
    }
  }

  public InetSocketAddress localAddress() {
    return (InetSocketAddress) listener.localAddress();
  }

  public HboneClient client() {
    return client;
  }

  @Override
  public void close() {
    try {
      listener.close().syncUninterruptibly();
      client.close();
    } finally {
      group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }
  }
}
