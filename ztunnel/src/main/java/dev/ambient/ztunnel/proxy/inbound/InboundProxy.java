package dev.ambient.ztunnel.proxy.inbound;

import static java.util.Objects.requireNonNull;

import dev.ambient.hbone.HboneDecision;
import dev.ambient.hbone.HboneRequest;
import dev.ambient.hbone.HboneServer;
import dev.ambient.hbone.UpstreamConnector;
import dev.ambient.identity.HboneTls;
import dev.ambient.identity.SpiffeId;
import dev.ambient.xds.client.Workload;
import dev.ambient.ztunnel.authz.LiveConnections;
import dev.ambient.ztunnel.proxy.LocalWorkload;
import dev.ambient.ztunnel.proxy.ProxyInputs;
import dev.ambient.ztunnel.proxy.ProxyListener;
import dev.ambient.ztunnel.proxy.TcpRelay;
import dev.ambient.ztunnel.telemetry.Baggage;
import dev.ambient.ztunnel.telemetry.ConnectionFacts;
import dev.ambient.ztunnel.telemetry.ReportedConnection;
import dev.ambient.ztunnel.telemetry.Reporter;
import dev.ambient.ztunnel.telemetry.ResponseFlag;
import dev.ambient.ztunnel.telemetry.SecurityPolicy;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelPromise;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The inbound HBONE listener (15008, spec §5.2): TLS with the local workload's certificate, one
 * CONNECT stream per tunnel decided by {@link InboundDecision}, then a TCP connection to the local
 * workload (spoofing the client IP when the listener is transparent), an optional PROXY v2 header,
 * and a relay. Accepted streams are registered with {@link LiveConnections} so a policy change
 * closes them (upstream socket reset, which resets the stream).
 *
 * <p>The TLS context is chosen per handshake without blocking the event loop: the last
 * certificate obtained for the local workload's identity (each handshake also asks for the current
 * one, so a rotation takes effect on a following handshake). Until xDS has the local workload and
 * a certificate was issued, handshakes are refused; {@link #bind} starts fetching at once.
 */
public final class InboundProxy implements ProxyListener {
  private static final Logger log = LoggerFactory.getLogger(InboundProxy.class);

  /**
   * Tunables.
   *
   * @param connectTimeout upstream TCP connect timeout (spec §5.0: 10 s)
   * @param localWorkloadWait how long a stream waits for xDS to deliver the local workload (5 s)
   */
  public record Options(Duration connectTimeout, Duration localWorkloadWait) {
    public static final Options DEFAULT = new Options(Duration.ofSeconds(10), LocalWorkload.DEFAULT_WAIT);

    public Options {
      requireNonNull(connectTimeout, "connectTimeout");
      requireNonNull(localWorkloadWait, "localWorkloadWait");
    }
  }

  private final ProxyInputs inputs;
  private final Options options;
  private final LocalWorkload localWorkload;
  private final ChannelGroup upstreams = new DefaultChannelGroup("inbound-upstreams", GlobalEventExecutor.INSTANCE);
  private final AtomicInteger active = new AtomicInteger();
  private final AtomicBoolean accepting = new AtomicBoolean(true);
  private @Nullable HboneServer server;

  private InboundProxy(ProxyInputs inputs, Options options) {
    this.inputs = inputs;
    this.options = options;
    this.localWorkload = new LocalWorkload(inputs.state(), inputs.workload());
  }

  /** Binds on {@code bind} (port 0 for an ephemeral port) with {@link Options#DEFAULT}. */
  public static InboundProxy bind(ProxyInputs inputs, InetSocketAddress bind) {
    return bind(inputs, bind, Options.DEFAULT);
  }

  /** Binds on {@code bind}; throws {@link IllegalStateException} when the bind fails. */
  public static InboundProxy bind(ProxyInputs inputs, InetSocketAddress bind, Options options) {
    requireNonNull(inputs, "inputs");
    requireNonNull(bind, "bind");
    requireNonNull(options, "options");
    InboundProxy proxy = new InboundProxy(inputs, options);
    proxy.server = HboneServer.builder()
        .transport(inputs.transport())
        .eventLoopGroup(inputs.workers())
        .http2(inputs.config().hbone().server())
        .tlsAsync(proxy::handshakeTls, options.localWorkloadWait().plus(options.connectTimeout()))
        .handler(proxy::onConnect)
        .listenerOptions(inputs.sockets().listener())
        .onAccept(ch -> {
          inputs.telemetry().socketOpened(Reporter.DESTINATION);
          ch.closeFuture().addListener(f -> inputs.telemetry().socketClosed(Reporter.DESTINATION));
        })
        .bind(bind)
        .start();
    proxy.warmUp(options.localWorkloadWait());
    return proxy;
  }

  /** Fetches the local workload's certificate ahead of the first handshake. */
  private void warmUp(Duration wait) {
    localWorkload.await(inputs.workers(), wait)
        .thenCompose(w -> inputs.certificates().tls(w.identity()))
        .whenComplete((tls, err) -> {
          if (err != null) {
            log.warn("inbound HBONE for {}: no certificate yet: {}", inputs.workload(), err.toString());
          }
        });
  }

  /**
   * The TLS for one accepted connection: the local workload's current certificate, or — right after
   * start-up, before the first certificate arrived — a stage completing when it does (the server
   * holds the connection unread meanwhile). A failed stage refuses the connection.
   */
  private CompletionStage<HboneTls> handshakeTls() {
    if (!accepting.get()) {
      return CompletableFuture.failedFuture(new IllegalStateException("inbound listener is draining"));
    }
    Optional<Workload> known = localWorkload.current();
    if (known.isPresent()) {
      SpiffeId id = known.get().identity();
      Optional<HboneTls> now = inputs.certificates().current(id);
      if (now.isPresent() && now.get().certificate().isValidAt(Instant.now())) {
        return CompletableFuture.completedFuture(now.get());
      }
    }
    return localWorkload.await(inputs.workers(), options.localWorkloadWait())
        .thenCompose(w -> inputs.certificates().tls(w.identity()));
  }

  private CompletionStage<HboneDecision> onConnect(HboneRequest request) {
    if (!accepting.get()) {
      return CompletableFuture.completedFuture(new HboneDecision.Reject(503, "draining"));
    }
    return localWorkload.await(inputs.workers(), options.localWorkloadWait()).handle((w, err) -> {
      if (err != null) {
        String error = "unknown local workload: " + err.getMessage();
        inputs.telemetry().failed(Reporter.DESTINATION, request.remoteAddress(), request.localAddress(), error);
        return new HboneDecision.Reject(503, error);
      }
      return decide(request, w);
    });
  }

  private HboneDecision decide(HboneRequest request, Workload local) {
    InboundDecision.Local here = new InboundDecision.Local(inputs.state().current(), local,
        inputs.config().identity().network(), inputs.config().localhostAppTunnel());
    InboundDecision.Outcome outcome =
        InboundDecision.decide(request, here, inputs.authorizer(), inputs.policies().get());
    return switch (outcome) {
      case InboundDecision.Rejected r -> {
        inputs.telemetry().failed(Reporter.DESTINATION, request.remoteAddress(), request.localAddress(), r.detail());
        yield new HboneDecision.Reject(r.status(), r.reason() + ": " + r.detail());
      }
      case InboundDecision.Denied d -> {
        ReportedConnection rc = inputs.telemetry().opened(facts(request, local, request.localAddress(),
            d.sourceWorkload(), Optional.empty(), d.sourceBaggage()));
        rc.close(0, 0, ResponseFlag.DENY, d.deny().message());
        yield new HboneDecision.Reject(d.status(), d.deny().message());
      }
      case InboundDecision.Accepted a -> {
        Map<String, String> headers = inputs.config().enableResponseBaggage()
            ? Map.of(Baggage.HEADER, Baggage.header(local)) : Map.of();
        yield new HboneDecision.Accept(connector(request, local, a), headers);
      }
    };
  }

  private UpstreamConnector connector(HboneRequest request, Workload local, InboundDecision.Accepted a) {
    var spoof = inputs.sockets().transparent() ? a.spoofSource().orElse(null) : null;
    UpstreamConnector tcp = UpstreamConnector.tcp(a.upstream(), inputs.transport(), options.connectTimeout(),
        inputs.sockets().outgoing(spoof));
    return loop -> {
      ChannelFuture connect = tcp.connect(loop);
      Channel ch = connect.channel();
      ChannelPromise ready = ch.newPromise();
      ReportedConnection reported = inputs.telemetry().opened(facts(request, local, a.upstream(),
          a.sourceWorkload(), a.destinationService(), a.sourceBaggage()));
      connect.addListener(f -> {
        if (!f.isSuccess()) {
          reported.close(0, 0, ResponseFlag.CONNECT, "upstream connect to " + a.upstream() + " failed: " + f.cause());
          ready.tryFailure(f.cause());
          return;
        }
        if (a.proxyHeader().isEmpty()) {
          established(ch, a, reported);
          ready.trySuccess();
          return;
        }
        InboundDecision.ProxyHeader h = a.proxyHeader().get();
        ch.writeAndFlush(ProxyProtocolV2.encode(ch.alloc(), h.source(), h.destination(), h.identity()))
            .addListener(w -> {
              if (w.isSuccess()) {
                established(ch, a, reported);
                ready.trySuccess();
              } else {
                reported.close(0, 0, ResponseFlag.CONNECT, "writing the PROXY header failed: " + w.cause());
                ch.close();
                ready.tryFailure(w.cause());
              }
            });
      });
      return ready;
    };
  }

  /** The upstream is connected: count, register for re-evaluation, report the close. */
  private void established(Channel upstream, InboundDecision.Accepted a, ReportedConnection reported) {
    ByteCounter counter = new ByteCounter();
    upstream.pipeline().addFirst(ByteCounter.NAME, counter);
    upstreams.add(upstream);
    active.incrementAndGet();
    AtomicBoolean revoked = new AtomicBoolean();
    LiveConnections.Registration registration = inputs.live().register(a.authorized(), () -> {
      revoked.set(true);
      TcpRelay.reset(upstream);
    });
    upstream.closeFuture().addListener(f -> {
      registration.close();
      active.decrementAndGet();
      boolean denied = revoked.get() || registration.revoked();
      reported.close(counter.written(), counter.read(), denied ? ResponseFlag.DENY : ResponseFlag.NONE,
          denied ? LiveConnections.CLOSE_REASON : null);
    });
  }

  private ConnectionFacts facts(HboneRequest request, Workload local, InetSocketAddress destination,
      Optional<Workload> source, Optional<dev.ambient.xds.client.Service> service, Map<String, String> baggage) {
    return new ConnectionFacts(Reporter.DESTINATION, request.remoteAddress(), destination,
        Optional.of(request.authority().toString()), source, Optional.of(request.peerIdentity()),
        Optional.of(local), Optional.of(local.identity()), service, SecurityPolicy.MUTUAL_TLS, baggage);
  }

  @Override
  public InetSocketAddress localAddress() {
    return requireNonNull(server).localAddress();
  }

  @Override
  public int activeConnections() {
    return active.get();
  }

  @Override
  public void stopAccepting() {
    accepting.set(false);
    requireNonNull(server).stopAccepting();
  }

  @Override
  public CompletableFuture<Void> drain(Duration deadline) {
    accepting.set(false);
    CompletableFuture<Void> graceful = requireNonNull(server).shutdownGracefully(deadline);
    // At the deadline whatever is left is reset; if everything finished earlier, drain ends earlier.
    java.util.concurrent.ScheduledFuture<?> force = inputs.workers().schedule(() -> {
      for (Channel ch : upstreams) {
        TcpRelay.reset(ch);
      }
    }, deadline.toMillis() + 100, TimeUnit.MILLISECONDS);
    return graceful.thenCompose(v -> {
      for (Channel ch : upstreams) {
        TcpRelay.reset(ch); // the HBONE connections are gone: nothing can use these any more
      }
      return closedUpstreams();
    }).whenComplete((v, t) -> force.cancel(false));
  }

  private CompletableFuture<Void> closedUpstreams() {
    CompletableFuture<?>[] all = upstreams.stream().map(ch -> {
      CompletableFuture<Void> done = new CompletableFuture<>();
      ch.closeFuture().addListener(f -> done.complete(null));
      return done;
    }).toArray(CompletableFuture[]::new);
    return CompletableFuture.allOf(all);
  }

  @Override
  public void close() {
    accepting.set(false);
    upstreams.close().awaitUninterruptibly(5, TimeUnit.SECONDS);
    requireNonNull(server).close();
  }
}
