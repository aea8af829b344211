package dev.ambient.xds.client;

import dev.ambient.net.Transport;
import io.grpc.netty.NettyChannelBuilder;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;

/**
 * The Netty resources the production gRPC channels to the control plane (xDS and CA) share, so a
 * proxy pays for one small gRPC transport instead of gRPC's defaults (docs/performance.md, "ztunnel
 * idle RSS"): one daemon event loop of the process's {@link Transport} for all of them (never a
 * data-plane loop, DESIGN §4; gRPC's default group starts a loop per channel) and Netty's default
 * allocator instead of the private pooled allocator gRPC otherwise creates with its own arenas.
 */
public final class ControlPlaneTransport {
  /** Name prefix of the shared loop's thread. */
  public static final String THREAD_NAME = "xds-grpc";

  private ControlPlaneTransport() {}

  /** Started on first use, lives as long as the process (daemon thread; channels do not own it). */
  private static final class Loop {
    static final Transport TRANSPORT = Transport.defaultTransport();
    static final EventLoopGroup GROUP = TRANSPORT.newEventLoopGroup(1, THREAD_NAME);
  }

  /** Puts {@code builder} on the shared loop, its channel type and the default allocator. */
  public static NettyChannelBuilder configure(NettyChannelBuilder builder) {
    return builder.eventLoopGroup(Loop.GROUP)
        .channelType(Loop.TRANSPORT.socketChannel())
        .withOption(ChannelOption.ALLOCATOR, ByteBufAllocator.DEFAULT);
  }
}
