package dev.ambient.hbone;

import static java.util.Objects.requireNonNull;

import dev.ambient.net.Transport;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.function.Consumer;

/**
 * Opens the upstream (plain TCP) side of an accepted tunnel. The returned channel must be a
 * {@link io.netty.channel.socket.DuplexChannel} with {@code AUTO_READ} off and half-closure allowed;
 * {@link Relay} installs its handler on it.
 */
@FunctionalInterface
public interface UpstreamConnector {
  ChannelFuture connect(EventLoop loop);

  /** TCP to {@code target} on {@code loop}, with TCP_NODELAY and keepalive. */
  static UpstreamConnector tcp(InetSocketAddress target, Transport transport, Duration connectTimeout) {
    return tcp(target, transport, connectTimeout, b -> {});
  }

  /**
   * TCP to {@code target}; {@code customizer} may add options (SO_MARK, a source bind, IP_TRANSPARENT)
   * before the connect.
   */
  static UpstreamConnector tcp(
      InetSocketAddress target, Transport transport, Duration connectTimeout, Consumer<Bootstrap> customizer) {
    requireNonNull(target, "target");
    requireNonNull(transport, "transport");
    return loop -> {
      Bootstrap b = new Bootstrap()
          .group(loop)
          .channel(transport.socketChannel())
          .option(ChannelOption.AUTO_READ, false)
          .option(ChannelOption.ALLOW_HALF_CLOSURE, true)
          .option(ChannelOption.TCP_NODELAY, true)
          .option(ChannelOption.SO_KEEPALIVE, true)
          .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) connectTimeout.toMillis())
          .handler(new ChannelInitializer<Channel>() {
            @Override
            protected void initChannel(Channel ch) {}
          });
      customizer.accept(b);
      return b.connect(target);
    };
  }
}
