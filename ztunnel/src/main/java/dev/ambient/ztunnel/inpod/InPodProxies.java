package dev.ambient.ztunnel.inpod;

import static java.util.Objects.requireNonNull;

import dev.ambient.hbone.HboneClient;
import dev.ambient.net.Transport;
import dev.ambient.ztunnel.ZtunnelConfig;
import dev.ambient.ztunnel.ZtunnelConfig.WorkloadInfo;
import dev.ambient.ztunnel.authz.Authorizer;
import dev.ambient.ztunnel.authz.LiveConnections;
import dev.ambient.ztunnel.authz.PolicyIndex;
import dev.ambient.ztunnel.proxy.ProxyInputs;
import dev.ambient.ztunnel.proxy.ProxyListener;
import dev.ambient.ztunnel.proxy.Sockets;
import dev.ambient.ztunnel.proxy.WorkloadCertificates;
import dev.ambient.ztunnel.proxy.inbound.InboundPlaintextProxy;
import dev.ambient.ztunnel.proxy.inbound.InboundProxy;
import dev.ambient.ztunnel.proxy.outbound.OutboundProxy;
import dev.ambient.ztunnel.state.StateHolder;
import dev.ambient.ztunnel.telemetry.ConnectionTelemetry;
import io.netty.channel.EventLoopGroup;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Starts the proxy of one pod (spec §7.3): inbound HBONE (15008), inbound plaintext (15006) and
 * outbound (15001) bound inside the pod netns through {@link InPodSockets}, with the pod's own HBONE
 * client (one connection pool per pod, spec §4.6) whose connections also leave from the pod. The
 * ports and wildcard address are the configured listeners'.
 */
public final class InPodProxies implements PodProxy.Factory {
  private static final Logger log = LoggerFactory.getLogger(InPodProxies.class);

  private final ZtunnelConfig config;
  private final StateHolder state;
  private final Supplier<PolicyIndex> policies;
  private final Authorizer authorizer;
  private final LiveConnections live;
  private final WorkloadCertificates certificates;
  private final Sockets base;
  private final ConnectionTelemetry telemetry;
  private final Transport transport;
  private final EventLoopGroup workers;

  /**
   * @param base the node-wide socket options (packet mark, keepalive, IP_TRANSPARENT)
   */
  public InPodProxies(ZtunnelConfig config, StateHolder state, Supplier<PolicyIndex> policies, Authorizer authorizer,
      LiveConnections live, WorkloadCertificates certificates, Sockets base, ConnectionTelemetry telemetry,
      Transport transport, EventLoopGroup workers) {
    this.config = requireNonNull(config, "config");
    this.state = requireNonNull(state, "state");
    this.policies = requireNonNull(policies, "policies");
    this.authorizer = requireNonNull(authorizer, "authorizer");
    this.live = requireNonNull(live, "live");
    this.certificates = requireNonNull(certificates, "certificates");
    this.base = requireNonNull(base, "base");
    this.telemetry = requireNonNull(telemetry, "telemetry");
    this.transport = requireNonNull(transport, "transport");
    this.workers = requireNonNull(workers, "workers");
  }

  @Override
  public PodProxy start(String uid, WorkloadInfo info, PodNetns netns) {
    InPodSockets sockets = new InPodSockets(base, transport, netns.namespace(), config.inPod().portReuse());
    HboneClient hbone = HboneClient.builder()
        .transport(transport)
        .eventLoopGroup(workers)
        .config(config.hbone().pool())
        .socketCustomizer(sockets.outgoing(null))
        .build();
    ProxyInputs inputs = new ProxyInputs(config, info, state, policies, authorizer, live, certificates, sockets,
        telemetry, transport, workers);
    ZtunnelConfig.Listeners l = config.listeners();
    List<ProxyListener> listeners = new ArrayList<>();
    try {
      listeners.add(InboundProxy.bind(inputs, address(l.inbound())));
      listeners.add(InboundPlaintextProxy.bind(inputs, address(l.inboundPlaintext())));
      listeners.add(OutboundProxy.bind(inputs, hbone, address(l.outbound())));
    } catch (RuntimeException e) {
      listeners.forEach(ProxyListener::close);
      hbone.close();
      throw e;
    }
    return new Pod(uid, List.copyOf(listeners), hbone);
  }

  private static InetSocketAddress address(ZtunnelConfig.ListenAddress a) {
    try {
      InetAddress host = a.isLocalhost() ? InetAddress.getLoopbackAddress() : InetAddress.getByName(a.host());
      return new InetSocketAddress(host, a.port());
    } catch (UnknownHostException e) {
      throw new IllegalArgumentException("cannot resolve listen address " + a + ": " + e.getMessage(), e);
    }
  }

  /** A started pod proxy: its three listeners and its HBONE pool. */
  record Pod(String uid, List<ProxyListener> listeners, HboneClient hbone) implements PodProxy {
    @Override
    public void close() {
      listeners.forEach(l -> {
        try {
          l.close();
        } catch (RuntimeException e) {
          log.debug("closing {} of pod {}: {}", l, uid, e.toString());
        }
      });
      hbone.close();
    }

    @Override
    public CompletableFuture<Void> drain(Duration deadline) {
      listeners.forEach(ProxyListener::stopAccepting);
      return CompletableFuture.allOf(listeners.stream().map(l -> l.drain(deadline)).toArray(CompletableFuture[]::new))
          .whenComplete((v, t) -> close());
    }
  }
}
