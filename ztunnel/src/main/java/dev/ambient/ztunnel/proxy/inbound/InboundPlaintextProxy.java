package dev.ambient.ztunnel.proxy.inbound;

import static java.util.Objects.requireNonNull;

import dev.ambient.net.LinuxSockets;
import dev.ambient.xds.client.Workload;
import dev.ambient.ztunnel.authz.Connection;
import dev.ambient.ztunnel.authz.Decision;
import dev.ambient.ztunnel.authz.LiveConnections;
import dev.ambient.ztunnel.proxy.LocalWorkload;
import dev.ambient.ztunnel.proxy.OutboundDecision;
import dev.ambient.ztunnel.proxy.ProxyInputs;
import dev.ambient.ztunnel.proxy.ProxyListener;
import dev.ambient.ztunnel.proxy.TcpRelay;
import dev.ambient.ztunnel.telemetry.ConnectionFacts;
import dev.ambient.ztunnel.telemetry.ReportedConnection;
import dev.ambient.ztunnel.telemetry.Reporter;
import dev.ambient.ztunnel.telemetry.ResponseFlag;
import dev.ambient.ztunnel.telemetry.SecurityPolicy;
import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.unix.UnixChannel;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The inbound plaintext listener (15006, spec §5.6): traffic captured by the pod's inbound
 * redirect that is not HBONE. Original destination via {@code SO_ORIGINAL_DST} (else the local
 * address); illegal ports refused; RBAC with no identity (src = client, dst = original dst); then
 * TCP to the original destination (spoofing the client IP when the listener is transparent) and a
 * {@link TcpRelay}. Telemetry: {@code reporter=destination}, security policy {@code unknown}.
 */
public final class InboundPlaintextProxy implements ProxyListener {
  private static final Logger log = LoggerFactory.getLogger(InboundPlaintextProxy.class);

  /**
   * Tunables.
   *
   * @param connectTimeout upstream connect timeout (10 s)
   * @param localWorkloadWait how long to wait for xDS to deliver the local workload (5 s)
   * @param originalDestination finds where an accepted connection was going; default
   *     {@link #socketOriginalDestination}
   */
  public record Options(Duration connectTimeout, Duration localWorkloadWait,
      Function<Channel, InetSocketAddress> originalDestination) {
    public static final Options DEFAULT = new Options(Duration.ofSeconds(10), LocalWorkload.DEFAULT_WAIT,
        InboundPlaintextProxy::socketOriginalDestination);

    public Options {
      requireNonNull(connectTimeout, "connectTimeout");
      requireNonNull(localWorkloadWait, "localWorkloadWait");
      requireNonNull(originalDestination, "originalDestination");
    }
  }

  private final ProxyInputs inputs;
  private final Options options;
  private final LocalWorkload localWorkload;
  private final ChannelGroup connections = new DefaultChannelGroup("inbound-plaintext", GlobalEventExecutor.INSTANCE);
  private final AtomicInteger active = new AtomicInteger();
  private @Nullable Channel listener;

  private InboundPlaintextProxy(ProxyInputs inputs, Options options) {
    this.inputs = inputs;
    this.options = options;
    this.localWorkload = new LocalWorkload(inputs.state(), inputs.workload());
  }

  public static InboundPlaintextProxy bind(ProxyInputs inputs, InetSocketAddress bind) {
    return bind(inputs, bind, Options.DEFAULT);
  }

  /** Binds on {@code bind}; throws {@link IllegalStateException} when the bind fails. */
  public static InboundPlaintextProxy bind(ProxyInputs inputs, InetSocketAddress bind, Options options) {
    InboundPlaintextProxy proxy = new InboundPlaintextProxy(requireNonNull(inputs, "inputs"),
        requireNonNull(options, "options"));
    ServerBootstrap b = new ServerBootstrap()
        .group(inputs.workers())
        .channel(inputs.transport().serverSocketChannel())
        .childOption(ChannelOption.AUTO_READ, false)
        .childOption(ChannelOption.ALLOW_HALF_CLOSURE, true)
        .childOption(ChannelOption.TCP_NODELAY, true)
        .childHandler(new ChannelInitializer<Channel>() {
          @Override
          protected void initChannel(Channel ch) {
            proxy.accepted(ch);
          }
        });
    inputs.sockets().listener().accept(b);
    try {
      proxy.listener = b.bind(requireNonNull(bind, "bind")).syncUninterruptibly().channel();
    } catch (RuntimeException e) {
      throw new IllegalStateException("cannot listen for inbound plaintext on " + bind + ": " + e.getMessage(), e);
    }
    log.info("inbound plaintext listening on {}", proxy.listener.localAddress());
    return proxy;
  }

  /**
   * {@code SO_ORIGINAL_DST} / {@code IP6T_SO_ORIGINAL_DST} of a native channel, else its local
   * address (TPROXY, a direct connection, or the NIO transport).
   */
  public static InetSocketAddress socketOriginalDestination(Channel ch) {
    if (ch instanceof UnixChannel u) {
      try {
        Optional<InetSocketAddress> orig = LinuxSockets.originalDestination(u.fd().intValue());
        if (orig.isPresent()) {
          return orig.get();
        }
      } catch (IOException | RuntimeException e) {
        log.debug("no original destination for {}: {}", ch, e.toString());
      }
    }
    return (InetSocketAddress) ch.localAddress();
  }

  private void accepted(Channel client) {
    connections.add(client);
    active.incrementAndGet();
    inputs.telemetry().socketOpened(Reporter.DESTINATION);
    client.closeFuture().addListener(f -> {
      active.decrementAndGet();
      inputs.telemetry().socketClosed(Reporter.DESTINATION);
    });
    InetSocketAddress src = (InetSocketAddress) client.remoteAddress();
    InetSocketAddress dst = options.originalDestination().apply(client);
    if (OutboundDecision.ILLEGAL_PORTS.contains(dst.getPort())) {
      inputs.telemetry().failed(Reporter.DESTINATION, src, dst, "self call: port " + dst.getPort() + " is a proxy port");
      client.close();
      return;
    }
    localWorkload.await(inputs.workers(), options.localWorkloadWait()).whenComplete((w, err) -> {
      if (err != null) {
        inputs.telemetry().failed(Reporter.DESTINATION, src, dst, "unknown local workload: " + err.getMessage());
        client.close();
      } else {
        client.eventLoop().execute(() -> authorize(client, src, dst, w));
      }
    });
  }

  private void authorize(Channel client, InetSocketAddress src, InetSocketAddress dst, Workload local) {
    if (!client.isActive()) {
      return;
    }
    InetAddress srcIp = requireNonNull(src.getAddress());
    InetAddress dstIp = requireNonNull(dst.getAddress(), "original destination must be resolved");
    Connection rbac = new Connection(srcIp, src.getPort(), dstIp, dst.getPort(), Optional.empty(),
        inputs.config().identity().network());
    ConnectionFacts facts = new ConnectionFacts(Reporter.DESTINATION, src, dst, Optional.empty(),
        inputs.state().current().workloadByAddress(
            new dev.ambient.ztunnel.state.NetworkIp(inputs.config().identity().network(), srcIp)),
        Optional.empty(), Optional.of(local), Optional.empty(), Optional.empty(), SecurityPolicy.UNKNOWN, Map.of());
    switch (inputs.authorizer().authorize(rbac, local, inputs.policies().get())) {
      case Decision.Deny deny -> {
        inputs.telemetry().opened(facts).close(0, 0, ResponseFlag.DENY, deny.message());
        client.close();
      }
      case Decision.Allow allow -> connect(client, dst, srcIp, facts, allow);
    }
  }

  private void connect(Channel client, InetSocketAddress dst, InetAddress clientIp, ConnectionFacts facts,
      Decision.Allow allow) {
    ReportedConnection reported = inputs.telemetry().opened(facts);
    InetAddress spoof = inputs.sockets().transparent() && !clientIp.equals(dst.getAddress()) ? clientIp : null;
    Bootstrap b = new Bootstrap()
        .group(client.eventLoop())
        .channel(inputs.transport().socketChannel())
        .option(ChannelOption.AUTO_READ, false)
        .option(ChannelOption.ALLOW_HALF_CLOSURE, true)
        .option(ChannelOption.TCP_NODELAY, true)
        .option(ChannelOption.SO_KEEPALIVE, true)
        .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) options.connectTimeout().toMillis())
        .handler(new ChannelInitializer<Channel>() {
          @Override
          protected void initChannel(Channel ch) {}
        });
    inputs.sockets().outgoing(spoof).accept(b);
    ChannelFuture cf = b.connect(dst);
    Channel upstream = cf.channel();
    connections.add(upstream);
    client.closeFuture().addListener(f -> {
      if (!cf.isDone()) {
        upstream.close();
      }
    });
    cf.addListener(f -> {
      if (!f.isSuccess() || !client.isActive()) {
        reported.close(0, 0, ResponseFlag.CONNECT, "upstream connect to " + dst + " failed: " + f.cause());
        upstream.close();
        client.close();
        return;
      }
      TcpRelay relay = TcpRelay.start(client, upstream);
      AtomicBoolean revoked = new AtomicBoolean();
      LiveConnections.Registration registration = inputs.live().register(allow.connection(), () -> {
        revoked.set(true);
        relay.abort(null);
      });
      relay.completion().whenComplete((r, t) -> {
        registration.close();
        boolean denied = revoked.get() || registration.revoked();
        String error = denied ? LiveConnections.CLOSE_REASON
            : r != null && !r.clean() ? String.valueOf(r.cause() == null ? "connection reset" : r.cause()) : null;
        reported.close(relay.bytesAToB(), relay.bytesBToA(), denied ? ResponseFlag.DENY : ResponseFlag.NONE, error);
      });
    });
  }

  @Override
  public InetSocketAddress localAddress() {
    return (InetSocketAddress) requireNonNull(listener).localAddress();
  }

  @Override
  public int activeConnections() {
    return active.get();
  }

  @Override
  public void stopAccepting() {
    Channel l = listener;
    if (l != null) {
      l.close().syncUninterruptibly();
    }
  }

  @Override
  public CompletableFuture<Void> drain(Duration deadline) {
    stopAccepting();
    CompletableFuture<Void> done = new CompletableFuture<>();
    CompletableFuture.delayedExecutor(deadline.toMillis(), TimeUnit.MILLISECONDS).execute(() -> {
      for (Channel ch : connections) {
        TcpRelay.reset(ch);
      }
    });
    poll(done, System.nanoTime() + deadline.toNanos() + TimeUnit.SECONDS.toNanos(1));
    return done;
  }

  /** Completes {@code done} once every connection has closed (checked every 50 ms). */
  private void poll(CompletableFuture<Void> done, long giveUpNanos) {
    if (connections.isEmpty() || System.nanoTime() - giveUpNanos > 0) {
      done.complete(null);
      return;
    }
    CompletableFuture.delayedExecutor(50, TimeUnit.MILLISECONDS).execute(() -> poll(done, giveUpNanos));
  }

  @Override
  public void close() {
    stopAccepting();
    connections.close().awaitUninterruptibly(5, TimeUnit.SECONDS);
  }
}
