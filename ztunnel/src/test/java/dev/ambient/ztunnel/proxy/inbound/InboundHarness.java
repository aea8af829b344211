package dev.ambient.ztunnel.proxy.inbound;

import dev.ambient.identity.HboneTls;
import dev.ambient.identity.SpiffeId;
import dev.ambient.identity.TrustBundle;
import dev.ambient.identity.WorkloadCertificate;
import dev.ambient.net.Transport;
import dev.ambient.testing.IssuedCertificate;
import dev.ambient.testing.TestCa;
import dev.ambient.xds.client.AddressResource;
import dev.ambient.ztunnel.ZtunnelConfig;
import dev.ambient.ztunnel.authz.Authorizer;
import dev.ambient.ztunnel.authz.LiveConnections;
import dev.ambient.ztunnel.authz.PolicyIndex;
import dev.ambient.ztunnel.proxy.ProxyInputs;
import dev.ambient.ztunnel.proxy.RecordingTelemetry;
import dev.ambient.ztunnel.proxy.Sockets;
import dev.ambient.ztunnel.state.Fixtures;
import dev.ambient.ztunnel.state.StateHolder;
import dev.ambient.ztunnel.state.StateUpdater;
import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import java.io.ByteArrayOutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import org.jspecify.annotations.Nullable;

/** Shared wiring for the inbound listener tests: state, policies, PKI, telemetry, sink servers. */
final class InboundHarness {
  static final Transport TRANSPORT = Transport.defaultTransport();
  static final String POD_IP = "127.0.0.2";
  static final String CLIENT_IP = "127.0.0.3";
  static final String OTHER_CLIENT_IP = "127.0.0.4";

  final TestCa ca = TestCa.create("cluster.local");
  final EventLoopGroup group = TRANSPORT.newEventLoopGroup(2, "inbound-test");
  final StateHolder state = new StateHolder();
  final StateUpdater updater = new StateUpdater(state);
  final AtomicReference<PolicyIndex> policies = new AtomicReference<>(PolicyIndex.EMPTY);
  final Authorizer authorizer = Authorizer.create();
  final List<LiveConnections.Revoked> revoked = new CopyOnWriteArrayList<>();
  final LiveConnections live = new LiveConnections(authorizer, revoked::add);
  final RecordingTelemetry telemetry = new RecordingTelemetry();
  final List<@Nullable InetAddress> spoofRequests = new CopyOnWriteArrayList<>();
  final HboneTls serverTls = tls(ca, "spiffe://cluster.local/ns/default/sa/default");

  static HboneTls tls(TestCa ca, String uri) {
    IssuedCertificate c = ca.issue(uri);
    return HboneTls.create(WorkloadCertificate.of(c.privateKey(), c.leaf(), c.intermediates(), TrustBundle.of(c.root())),
        dev.ambient.identity.TlsOptions.DEFAULT);
  }

  ProxyInputs inputs(boolean transparent) {
    ZtunnelConfig config = ZtunnelConfig.fromEnvironment(
        Map.of("PROXY_MODE", "dedicated", "PROXY_WORKLOAD_INFO", "default/server/default"), 2);
    Sockets sockets = new Sockets() {
      @Override
      public Consumer<ServerBootstrap> listener() {
        return b -> {};
      }

      @Override
      public boolean transparent() {
        return transparent;
      }

      @Override
      public Consumer<Bootstrap> outgoing(@Nullable InetAddress spoofSource) {
        spoofRequests.add(spoofSource);
        return b -> {};
      }
    };
    return new ProxyInputs(config, config.workloadInfo().orElseThrow(), state, policies::get, authorizer, live,
        (SpiffeId id) -> id.equals(serverTls.certificate().identity())
            ? CompletableFuture.completedFuture(serverTls)
            : CompletableFuture.failedFuture(new IllegalStateException("no cert for " + id)),
        sockets, telemetry, TRANSPORT, group);
  }

  void publish(AddressResource... resources) {
    updater.apply(Fixtures.push(resources));
  }

  /** A new policy index; also re-evaluates live connections, as the control plane would. */
  void publishPolicies(PolicyIndex index) {
    policies.set(index);
    live.reevaluate(index, uid -> state.current().workload(uid).orElse(null));
  }

  /** A server on {@code host} that records everything it receives into {@code sink} and never answers. */
  Channel sink(String host, ByteArrayOutputStream sink) {
    return server(host, ch -> ch.pipeline().addLast(new ChannelInboundHandlerAdapter() {
      @Override
      public void channelRead(ChannelHandlerContext ctx, Object msg) {
        ByteBuf b = (ByteBuf) msg;
        synchronized (sink) {
          byte[] bytes = new byte[b.readableBytes()];
          b.readBytes(bytes);
          sink.writeBytes(bytes);
        }
        b.release();
      }
    }));
  }

  private Channel server(String host, Consumer<Channel> init) {
    return new ServerBootstrap().group(group).channel(TRANSPORT.serverSocketChannel())
        .childOption(ChannelOption.ALLOW_HALF_CLOSURE, true)
        .childHandler(new ChannelInitializer<Channel>() {
          @Override
          protected void initChannel(Channel ch) {
            init.accept(ch);
          }
        })
        .bind(new InetSocketAddress(host, 0)).syncUninterruptibly().channel();
  }

  static InetSocketAddress address(Channel ch) {
    return (InetSocketAddress) ch.localAddress();
  }

  void close() {
    group.shutdownGracefully(0, 1, java.util.concurrent.TimeUnit.SECONDS).syncUninterruptibly();
  }

  /** Polls {@code condition} every 20 ms for up to {@code millis}. */
  static boolean eventually(long millis, BooleanSupplier condition) throws InterruptedException {
    long deadline = System.nanoTime() + millis * 1_000_000L;
    while (System.nanoTime() < deadline) {
      if (condition.getAsBoolean()) {
        return true;
      }
      Thread.sleep(20);
    }
    return condition.getAsBoolean();
  }
}
