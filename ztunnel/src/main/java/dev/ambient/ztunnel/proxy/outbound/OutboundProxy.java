package dev.ambient.ztunnel.proxy.outbound;

import static java.util.Objects.requireNonNull;

import dev.ambient.hbone.Authority;
import dev.ambient.hbone.HboneClient;
import dev.ambient.hbone.HboneConnectRequest;
import dev.ambient.hbone.HboneException;
import dev.ambient.hbone.HboneStream;
import dev.ambient.hbone.Relay;
import dev.ambient.hbone.RelayResult;
import dev.ambient.hbone.UpstreamConnector;
import dev.ambient.identity.HboneTls;
import dev.ambient.identity.SpiffeId;
import dev.ambient.net.LinuxSockets;
import dev.ambient.xds.client.Service;
import dev.ambient.xds.client.Workload;
import dev.ambient.ztunnel.ZtunnelConfig;
import dev.ambient.ztunnel.proxy.LocalWorkload;
import dev.ambient.ztunnel.proxy.OutboundDecision;
import dev.ambient.ztunnel.proxy.ProxyInputs;
import dev.ambient.ztunnel.proxy.ProxyListener;
import dev.ambient.ztunnel.proxy.Route;
import dev.ambient.ztunnel.proxy.TcpRelay;
import dev.ambient.ztunnel.telemetry.Baggage;
import dev.ambient.ztunnel.telemetry.ConnectionFacts;
import dev.ambient.ztunnel.telemetry.ReportedConnection;
import dev.ambient.ztunnel.telemetry.Reporter;
import dev.ambient.ztunnel.telemetry.ResponseFlag;
import dev.ambient.ztunnel.telemetry.SecurityPolicy;
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
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The outbound listener (15001, spec §5.1). For each accepted application connection: the original
 * destination ({@code SO_ORIGINAL_DST}, else the socket's local address), the local (source)
 * workload (waiting up to {@link Options#sourceWait()} for xDS), the {@link Route} from {@link
 * OutboundDecision}, then HBONE through the pooled {@link HboneClient}, double HBONE (the pooled
 * tunnel to a network gateway carrying an unpooled {@link InnerHbone}), plain TCP, or a reset.
 *
 * <p>Accepted sockets run on {@link ProxyInputs#workers()} with {@code AUTO_READ} off; nothing is
 * read from the application before the upstream side is up. Telemetry: one socket gauge per
 * accepted socket, {@code opened} once the route is known, {@code close} with the byte counts when
 * the relay ends; early denials are reported as {@code failed}.
 */
public final class OutboundProxy implements ProxyListener {
  private static final Logger log = LoggerFactory.getLogger(OutboundProxy.class);

  /**
   * Tunables, mostly for tests.
   *
   * @param hbonePort where HBONE workloads are dialled instead of 15008 (tests cannot bind 15008 on
   *     every address); waypoint and gateway ports from xDS are kept
   * @param sourceWait how long to wait for xDS to deliver the local workload
   * @param connectTimeout TCP connect timeout of plain-TCP routes
   */
  public record Options(int hbonePort, Duration sourceWait, Duration connectTimeout) {
    public Options {
      if (hbonePort < 1 || hbonePort > 65_535) {
        throw new IllegalArgumentException("hbonePort must be within 1..65535, got " + hbonePort);
      }
      requireNonNull(sourceWait, "sourceWait");
      requireNonNull(connectTimeout, "connectTimeout");
    }

    public static Options defaults() {
      return new Options(OutboundDecision.HBONE_PORT, LocalWorkload.DEFAULT_WAIT, Duration.ofSeconds(10));
    }

    public Options withHbonePort(int port) {
      return new Options(port, sourceWait, connectTimeout);
    }

    public Options withSourceWait(Duration d) {
      return new Options(hbonePort, d, connectTimeout);
    }
  }

  private final ProxyInputs inputs;
  private final HboneClient hbone;
  private final Options options;
  private final LocalWorkload localWorkload;
  private final ChannelGroup accepted = new DefaultChannelGroup("outbound-accepted", GlobalEventExecutor.INSTANCE);
  private final Map<Channel, OutboundConnection> live = new ConcurrentHashMap<>();
  private final boolean spoof;
  private volatile @Nullable Channel server;

  OutboundProxy(ProxyInputs inputs, HboneClient hbone, Options options) {
    this.inputs = requireNonNull(inputs, "inputs");
    this.hbone = requireNonNull(hbone, "hbone");
    this.options = requireNonNull(options, "options");
    this.localWorkload = new LocalWorkload(inputs.state(), inputs.workload());
    // Outbound keeps the application's address only when explicitly asked (ENABLE_ORIG_SRC=true).
    this.spoof = inputs.config().origSrc() == ZtunnelConfig.OrigSrc.ENABLED && inputs.sockets().transparent();
  }

  /** Binds the outbound listener on {@code bind} with default {@link Options}. */
  public static OutboundProxy bind(ProxyInputs inputs, HboneClient hbone, InetSocketAddress bind) {
    return bind(inputs, hbone, bind, Options.defaults());
  }

  /**
   * Binds the outbound listener. {@code hbone} should have been built with {@code
   * socketCustomizer(inputs.sockets().outgoing(null))} so tunnels carry the packet mark.
   *
   * @throws IllegalStateException when the address cannot be bound
   */
  public static OutboundProxy bind(ProxyInputs inputs, HboneClient hbone, InetSocketAddress bind, Options options) {
    OutboundProxy proxy = new OutboundProxy(inputs, hbone, options);
    ServerBootstrap b = new ServerBootstrap()
        .group(inputs.workers())
        .channel(inputs.transport().serverSocketChannel())
        .childOption(ChannelOption.AUTO_READ, false)
        .childOption(ChannelOption.ALLOW_HALF_CLOSURE, true)
        .childHandler(new ChannelInitializer<Channel>() {
          @Override
          protected void initChannel(Channel ch) {
            proxy.accept(ch);
          }
        });
    inputs.sockets().listener().accept(b);
    ChannelFuture f = b.bind(bind).awaitUninterruptibly();
    if (!f.isSuccess()) {
      throw new IllegalStateException("cannot bind the outbound listener on " + bind + ": " + f.cause(), f.cause());
    }
    proxy.server = f.channel();
    log.info("outbound listener on {}", f.channel().localAddress());
    return proxy;
  }

  @Override
  public InetSocketAddress localAddress() {
    Channel s = server;
    if (s == null) {
      throw new IllegalStateException("not bound");
    }
    return (InetSocketAddress) s.localAddress();
  }

  @Override
  public int activeConnections() {
    return accepted.size();
  }

  /** The live outbound connections (for the admin config dump), a snapshot. */
  public List<OutboundConnection> connections() {
    return List.copyOf(live.values());
  }

  @Override
  public void stopAccepting() {
    Channel s = server;
    if (s != null && s.isOpen()) {
      s.close().awaitUninterruptibly(5, TimeUnit.SECONDS);
    }
  }

  @Override
  public CompletableFuture<Void> drain(Duration deadline) {
    stopAccepting();
    CompletableFuture<Void> done = new CompletableFuture<>();
    long end = System.nanoTime() + deadline.toNanos();
    pollDrain(end, done);
    return done;
  }

  private void pollDrain(long end, CompletableFuture<Void> done) {
    if (accepted.isEmpty()) {
      done.complete(null);
      return;
    }
    if (System.nanoTime() - end >= 0) {
      log.info("drain deadline reached: closing {} outbound connections", accepted.size());
      accepted.close().addListener(f -> done.complete(null));
      return;
    }
    GlobalEventExecutor.INSTANCE.schedule(() -> pollDrain(end, done), 20, TimeUnit.MILLISECONDS);
  }

  @Override
  public void close() {
    stopAccepting();
    accepted.close().awaitUninterruptibly(5, TimeUnit.SECONDS);
  }

  // --- per connection ---

  /** An accepted socket from the listener (on its event loop). */
  private void accept(Channel ch) {
    InetSocketAddress client = canonical((InetSocketAddress) ch.remoteAddress());
    InetSocketAddress dst;
    try {
      dst = originalDestination(ch);
    } catch (IOException | RuntimeException e) {
      opened(ch);
      deny(ch, client, canonical((InetSocketAddress) ch.localAddress()), "cannot read the original destination: " + e.getMessage());
      return;
    }
    opened(ch);
    handle(ch, client, dst);
  }

  /** Counts {@code ch} as an accepted socket until it closes. */
  void opened(Channel ch) {
    ch.pipeline().addLast(EarlyInput.NAME, new EarlyInput());
    accepted.add(ch);
    inputs.telemetry().socketOpened(Reporter.SOURCE);
    ch.closeFuture().addListener(f -> {
      live.remove(ch);
      inputs.telemetry().socketClosed(Reporter.SOURCE);
    });
  }

  /**
   * Routes an accepted application connection {@code ch} from {@code client} to {@code dst}; the
   * socket must already be counted with {@link #opened}. Any thread.
   */
  void handle(Channel ch, InetSocketAddress client, InetSocketAddress dst) {
    localWorkload.await(ch.eventLoop(), options.sourceWait()).whenComplete((source, err) -> ch.eventLoop().execute(() -> {
      if (err != null) {
        deny(ch, client, dst, "unknown source workload: " + unwrap(err).getMessage());
        return;
      }
      if (!ch.isActive()) {
        return;
      }
      Route route;
      try {
        route = OutboundDecision.build(inputs.state().current(), source, client.getAddress(), dst, ThreadLocalRandom.current());
      } catch (RuntimeException e) {
        log.warn("outbound routing of {} -> {} failed", client, dst, e);
        deny(ch, client, dst, "routing failed: " + e.getMessage());
        return;
      }
      carry(ch, client, dst, source, route);
    }));
  }

  private void carry(Channel ch, InetSocketAddress client, InetSocketAddress dst, Workload source, Route route) {
    switch (route) {
      case Route.Reject r -> {
        log.debug("outbound {} -> {} rejected: {} ({})", client, dst, r.reason(), r.detail());
        deny(ch, client, dst, r.reason().name().toLowerCase(java.util.Locale.ROOT) + ": " + r.detail());
      }
      case Route.DoubleHbone d -> doubleHbone(ch, client, dst, source, d);
      case Route.Passthrough p ->
          tcp(ch, client, dst, p.originalDestination(), source, Optional.empty(), Optional.empty());
      case Route.Direct d -> tcp(ch, client, dst, d.destination(), source, Optional.of(d.upstream()), d.service());
      case Route.Hbone h -> hbone(ch, client, dst, source, h);
    }
  }

  private void tcp(Channel ch, InetSocketAddress client, InetSocketAddress dst, InetSocketAddress target, Workload source,
      Optional<Workload> upstream, Optional<Service> service) {
    ReportedConnection reported = inputs.telemetry().opened(new ConnectionFacts(Reporter.SOURCE, client, target,
        Optional.empty(), Optional.of(source), Optional.empty(), upstream, Optional.empty(), service,
        SecurityPolicy.UNKNOWN, Map.of()));
    live.put(ch, new OutboundConnection(client, dst, target, OutboundConnection.Protocol.TCP));
    UpstreamConnector connector = UpstreamConnector.tcp(target, inputs.transport(), options.connectTimeout(),
        inputs.sockets().outgoing(spoofSource(client, target)));
    ChannelFuture cf;
    try {
      cf = connector.connect(ch.eventLoop());
    } catch (RuntimeException e) {
      reported.close(0, 0, ResponseFlag.CONNECT, "connect to " + target + " failed: " + e.getMessage());
      TcpRelay.reset(ch);
      return;
    }
    cf.addListener((ChannelFuture f) -> {
      if (!f.isSuccess()) {
        log.debug("outbound {} -> {}: connect failed: {}", client, target, String.valueOf(f.cause()));
        reported.close(0, 0, ResponseFlag.CONNECT, "connect to " + target + " failed: " + message(f.cause()));
        TcpRelay.reset(ch);
        return;
      }
      Channel up = f.channel();
      if (!ch.isActive()) {
        up.close();
        reported.close(0, 0, ResponseFlag.NONE, "client closed before the upstream connection was up");
        return;
      }
      // Same loop as ch (the connector dialled on it): the relay's handlers are added right here.
      TcpRelay relay = TcpRelay.start(ch, up);
      EarlyInput.release(ch);
      relay.completion().whenComplete((r, e) -> {
        if (r == null) {
          reported.close(0, 0, ResponseFlag.NONE, message(e));
        } else {
          // Resets during copying are not errors (spec §5.0): only a local failure is reported.
          Throwable cause = r.cause();
          reported.close(r.bytesAToB(), r.bytesBToA(), ResponseFlag.NONE,
              cause == null || cause instanceof IOException ? null : message(cause));
        }
      });
    });
  }

  private void hbone(Channel ch, InetSocketAddress client, InetSocketAddress dst, Workload source, Route.Hbone h) {
    SpiffeId sourceId = source.identity();
    InetSocketAddress nextHop = h.destination();
    if (h.hop() == Route.Hop.WORKLOAD && nextHop.getPort() == OutboundDecision.HBONE_PORT) {
      nextHop = withPort(nextHop, options.hbonePort());
    }
    Authority authority = authority(h.authority());
    ReportedConnection reported = inputs.telemetry().opened(new ConnectionFacts(Reporter.SOURCE, client, nextHop,
        Optional.of(authority.toString()), Optional.of(source), Optional.of(sourceId), Optional.of(h.upstream()),
        Optional.of(h.upstream().identity()), h.service(), SecurityPolicy.MUTUAL_TLS, Map.of()));
    live.put(ch, new OutboundConnection(client, dst, nextHop, OutboundConnection.Protocol.HBONE));

    Map<String, String> headers = new LinkedHashMap<>();
    String baggage = Baggage.header(source);
    if (!baggage.isEmpty()) {
      headers.put(Baggage.HEADER, baggage);
    }
    headers.put(ConnectHeaders.FORWARDED, ConnectHeaders.forwarded(client, h.service().map(Service::hostname)));
    headers.put(ConnectHeaders.TRACEPARENT, ConnectHeaders.traceparent(ThreadLocalRandom.current()));
    InetSocketAddress hop = nextHop;
    @Nullable InetAddress sourceIp = spoofSource(client, hop);

    CompletableFuture<HboneTls> tls = inputs.certificates().tls(sourceId);
    tls.whenComplete((t, certErr) -> {
      if (certErr != null) {
        log.warn("outbound {} -> {}: no certificate for {}: {}", client, dst, sourceId, message(certErr));
        reported.close(0, 0, ResponseFlag.IDENTITY_ERROR, "no certificate for " + sourceId + ": " + message(certErr));
        TcpRelay.reset(ch);
        return;
      }
      HboneConnectRequest request =
          new HboneConnectRequest(t, h.expectedIdentities(), hop, sourceIp, authority, headers);
      CompletableFuture<HboneStream> opening;
      try {
        opening = hbone.open(request, ch.eventLoop()); // the stream on ch's loop: no thread hop per relayed write
      } catch (RuntimeException e) {
        opening = CompletableFuture.failedFuture(e);
      }
      opening.whenComplete((stream, err) -> {
        if (err != null) {
          Throwable cause = unwrap(err);
          log.debug("outbound {} -> {} via {}: HBONE failed: {}", client, dst, hop, cause.getMessage());
          reported.close(0, 0, flag(cause), message(cause));
          TcpRelay.reset(ch);
          return;
        }
        ch.eventLoop().execute(() -> {
          if (!ch.isActive()) {
            stream.channel().close();
            reported.close(0, 0, ResponseFlag.NONE, "client closed before the tunnel was up");
            return;
          }
          Relay relay = stream.relay(ch); // on ch's loop: its TCP handler is added synchronously
          EarlyInput.release(ch);
          relay.completion().whenComplete((r, e) -> {
            if (r == null) {
              reported.close(0, 0, ResponseFlag.NONE, message(e));
            } else {
              reported.close(r.bytesFromTcp(), r.bytesToTcp(), ResponseFlag.NONE, relayError(r));
            }
          });
        });
      });
    });
  }

  /**
   * Double HBONE (spec §4.7): a pooled outer tunnel to the gateway with {@code :authority =
   * hostname:port}, and inside it an unpooled inner TLS + HTTP/2 CONNECT ({@link InnerHbone}) with
   * the same authority and {@code x-forwarded-network}, expecting the service's identities.
   */
  private void doubleHbone(Channel ch, InetSocketAddress client, InetSocketAddress dst, Workload source,
      Route.DoubleHbone d) {
    SpiffeId sourceId = source.identity();
    InetSocketAddress gateway = d.gateway();
    Authority authority = new Authority(d.hostname(), d.port(), null);
    ReportedConnection reported = inputs.telemetry().opened(new ConnectionFacts(Reporter.SOURCE, client, gateway,
        Optional.of(authority.toString()), Optional.of(source), Optional.of(sourceId), Optional.of(d.upstream()),
        Optional.of(d.upstream().identity()), Optional.of(d.service()), SecurityPolicy.MUTUAL_TLS, Map.of()));
    live.put(ch, new OutboundConnection(client, dst, gateway, OutboundConnection.Protocol.DOUBLEHBONE));

    String traceparent = ConnectHeaders.traceparent(ThreadLocalRandom.current());
    Map<String, String> inner = new LinkedHashMap<>();
    String baggage = Baggage.header(source);
    if (!baggage.isEmpty()) {
      inner.put(Baggage.HEADER, baggage);
    }
    inner.put(ConnectHeaders.FORWARDED, ConnectHeaders.forwarded(client, Optional.of(d.service().hostname())));
    inner.put(ConnectHeaders.TRACEPARENT, traceparent);
    inner.put(ConnectHeaders.X_FORWARDED_NETWORK, d.forwardedNetwork());
    @Nullable InetAddress sourceIp = spoofSource(client, gateway);

    inputs.certificates().tls(sourceId).whenComplete((t, certErr) -> {
      if (certErr != null) {
        log.warn("outbound {} -> {}: no certificate for {}: {}", client, dst, sourceId, message(certErr));
        reported.close(0, 0, ResponseFlag.IDENTITY_ERROR, "no certificate for " + sourceId + ": " + message(certErr));
        TcpRelay.reset(ch);
        return;
      }
      HboneConnectRequest outer = new HboneConnectRequest(t, d.gatewayIdentities(), gateway, sourceIp, authority,
          Map.of(ConnectHeaders.TRACEPARENT, traceparent));
      CompletableFuture<HboneStream> opening;
      try {
        opening = hbone.open(outer);
      } catch (RuntimeException e) {
        opening = CompletableFuture.failedFuture(e);
      }
      opening.thenCompose(stream -> {
        if (!ch.isActive()) {
          stream.channel().close();
          return CompletableFuture.failedFuture(new IOException("client closed before the tunnel was up"));
        }
        return InnerHbone.open(stream, t, d.innerIdentities(), authority, inner, ch, options.connectTimeout());
      }).whenComplete((relay, err) -> {
        if (err != null) {
          Throwable cause = unwrap(err);
          log.debug("outbound {} -> {} via gateway {}: double HBONE failed: {}", client, dst, gateway, cause.getMessage());
          reported.close(0, 0, ch.isActive() ? flag(cause) : ResponseFlag.NONE, message(cause));
          TcpRelay.reset(ch);
          return;
        }
        // After the relay's TCP handler, which Relay.start queued on ch's loop.
        ch.eventLoop().execute(() -> EarlyInput.release(ch));
        relay.completion().whenComplete((r, e) -> {
          if (r == null) {
            reported.close(0, 0, ResponseFlag.NONE, message(e));
          } else {
            reported.close(r.bytesFromTcp(), r.bytesToTcp(), ResponseFlag.NONE, relayError(r));
          }
        });
      });
    });
  }

  /** The access-log error of a finished relay; resets during copying are not errors (spec §5.0). */
  private static @Nullable String relayError(RelayResult r) {
    return switch (r.outcome()) {
      case CLEAN, TCP_RESET -> null;
      case STREAM_RESET, ERROR -> r.cause() == null ? r.outcome().name().toLowerCase(java.util.Locale.ROOT) : message(r.cause());
    };
  }

  /** The response flag for a failed tunnel (spec §4.6, §9.2). */
  static ResponseFlag flag(Throwable cause) {
    if (cause instanceof HboneException e) {
      return switch (e.reason()) {
        case TLS_FAILURE -> ResponseFlag.TLS_FAILURE;
        case CONNECT_TIMEOUT -> ResponseFlag.NETWORK_POLICY;
        case CONNECT_FAILED, CONNECTION_LOST, HTTP_STATUS, STREAM_RESET, CLOSED -> ResponseFlag.CONNECT;
      };
    }
    return ResponseFlag.CONNECT;
  }

  private void deny(Channel ch, InetSocketAddress client, InetSocketAddress dst, String error) {
    inputs.telemetry().failed(Reporter.SOURCE, client, dst, error);
    TcpRelay.reset(ch);
  }

  private @Nullable InetAddress spoofSource(InetSocketAddress client, InetSocketAddress target) {
    if (!spoof || client.getAddress() == null || client.getAddress().equals(target.getAddress())) {
      return null;
    }
    return client.getAddress();
  }

  /** {@code SO_ORIGINAL_DST} when the socket was redirected, else the local address; canonical. */
  static InetSocketAddress originalDestination(Channel ch) throws IOException {
    if (ch instanceof UnixChannel u) {
      Optional<InetSocketAddress> orig = LinuxSockets.originalDestination(u.fd().intValue());
      if (orig.isPresent()) {
        return canonical(orig.get());
      }
    }
    return canonical((InetSocketAddress) ch.localAddress());
  }

  /** IPv4-mapped IPv6 addresses become IPv4 (spec §5.0). */
  static InetSocketAddress canonical(InetSocketAddress a) {
    InetAddress ip = a.getAddress();
    if (ip instanceof Inet6Address v6) {
      byte[] b = v6.getAddress();
      boolean mapped = b[10] == (byte) 0xff && b[11] == (byte) 0xff;
      for (int i = 0; i < 10 && mapped; i++) {
        mapped = b[i] == 0;
      }
      if (mapped) {
        try {
          return new InetSocketAddress(InetAddress.getByAddress(java.util.Arrays.copyOfRange(b, 12, 16)), a.getPort());
        } catch (UnknownHostException e) {
          throw new IllegalStateException(e);
        }
      }
    }
    return a;
  }

  private static Authority authority(InetSocketAddress a) {
    return a.isUnresolved() || a.getAddress() == null
        ? new Authority(a.getHostString(), a.getPort(), null)
        : Authority.of(a);
  }

  private static InetSocketAddress withPort(InetSocketAddress a, int port) {
    return a.isUnresolved() ? InetSocketAddress.createUnresolved(a.getHostString(), port)
        : new InetSocketAddress(a.getAddress(), port);
  }

  private static Throwable unwrap(Throwable t) {
    Throwable c = t;
    while (c instanceof CompletionException && c.getCause() != null) {
      c = c.getCause();
    }
    return c;
  }

  private static String message(@Nullable Throwable t) {
    if (t == null) {
      return "unknown error";
    }
    Throwable c = unwrap(t);
    return c.getMessage() == null ? c.getClass().getSimpleName() : c.getMessage();
  }
}
