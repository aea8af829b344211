package dev.ambient.ztunnel.inpod;

import static java.util.Objects.requireNonNull;

import dev.ambient.net.LinuxSockets.NetNamespace;
import dev.ambient.net.Transport;
import dev.ambient.ztunnel.proxy.Sockets;
import io.netty.bootstrap.AbstractBootstrap;
import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelException;
import io.netty.channel.ChannelFactory;
import io.netty.channel.unix.UnixChannelOption;
import java.lang.reflect.Field;
import java.net.InetAddress;
import java.util.function.Consumer;
import org.jspecify.annotations.Nullable;

/**
 * {@link Sockets} for one pod in shared mode (spec §7.3): the options of the node-wide sockets
 * (packet mark, keepalive, IP_TRANSPARENT) plus a channel factory that constructs every channel on
 * the pod's {@link NetNamespace} thread. Netty creates the descriptor in the channel constructor,
 * so listeners listen inside the pod and outgoing connections (including the HBONE pool's) leave
 * from it with the pod's addresses. With {@code INPOD_PORT_REUSE} listeners get {@code
 * SO_REUSEPORT} (native transports), so a new ztunnel can bind while the old one drains.
 */
final class InPodSockets implements Sockets {
  private static final Field CHANNEL_FACTORY = channelFactoryField();

  private final Sockets base;
  private final Transport transport;
  private final NetNamespace netns;
  private final boolean portReuse;

  InPodSockets(Sockets base, Transport transport, NetNamespace netns, boolean portReuse) {
    this.base = requireNonNull(base, "base");
    this.transport = requireNonNull(transport, "transport");
    this.netns = requireNonNull(netns, "netns");
    this.portReuse = portReuse;
  }

  @Override
  public Consumer<ServerBootstrap> listener() {
    Consumer<ServerBootstrap> options = base.listener();
    return b -> {
      options.accept(b);
      if (portReuse && transport.isNative()) {
        b.option(UnixChannelOption.SO_REUSEPORT, true);
      }
      replaceChannelFactory(b, inNetns(transport.serverSocketChannel()));
    };
  }

  @Override
  public boolean transparent() {
    return base.transparent();
  }

  @Override
  public Consumer<Bootstrap> outgoing(@Nullable InetAddress spoofSource) {
    Consumer<Bootstrap> options = base.outgoing(spoofSource);
    return b -> {
      options.accept(b);
      replaceChannelFactory(b, inNetns(transport.socketChannel()));
    };
  }

  /**
   * Sets the bootstrap's channel factory even when its owner already chose the channel class (the
   * proxies and the HBONE client call {@code channel(...)} before applying these options, and Netty
   * refuses a second factory). The class stays the transport's; only where it is constructed changes.
   */
  private static <C extends Channel> void replaceChannelFactory(AbstractBootstrap<?, C> b, ChannelFactory<? extends C> f) {
    try {
      CHANNEL_FACTORY.set(b, null);
    } catch (IllegalAccessException e) {
      throw new IllegalStateException("cannot reset the Netty bootstrap's channel factory", e);
    }
    b.channelFactory(f);
  }

  /** Constructs {@code type} (its no-argument constructor creates the socket) inside the pod netns. */
  private <C extends Channel> ChannelFactory<C> inNetns(Class<? extends C> type) {
    return () -> {
      try {
        return netns.run(() -> type.getConstructor().newInstance());
      } catch (Exception e) {
        throw new ChannelException("cannot create a " + type.getSimpleName() + " in " + netns + ": " + e, e);
      }
    };
  }

  private static Field channelFactoryField() {
    try {
      Field f = AbstractBootstrap.class.getDeclaredField("channelFactory");
      f.setAccessible(true);
      return f;
    } catch (NoSuchFieldException | RuntimeException e) {
      throw new ExceptionInInitializerError("Netty's AbstractBootstrap has no accessible channelFactory field: " + e);
    }
  }

  @Override
  public String toString() {
    return "InPodSockets[" + netns + "]";
  }
}
