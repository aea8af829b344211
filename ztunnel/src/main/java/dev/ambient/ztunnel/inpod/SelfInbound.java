package dev.ambient.ztunnel.inpod;

import static java.util.Objects.requireNonNull;

import dev.ambient.xds.client.Workload;
import dev.ambient.ztunnel.ZtunnelConfig;
import dev.ambient.ztunnel.ZtunnelConfig.WorkloadInfo;
import dev.ambient.ztunnel.proxy.ProxyInputs;
import dev.ambient.ztunnel.proxy.Sockets;
import dev.ambient.ztunnel.proxy.inbound.InboundProxy;
import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.ChannelOption;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.Collection;
import java.util.Comparator;
import java.util.Optional;
import java.util.function.Consumer;
import org.jspecify.annotations.Nullable;

/**
 * ztunnel's own inbound HBONE listener in shared mode (spec §7.6): when {@code POD_NAMESPACE},
 * {@code SERVICE_ACCOUNT} and {@code POD_NAME} are set, ztunnel serves HBONE on 15008 in its
 * <em>own</em> network namespace as its own workload (certificate for {@code
 * spiffe://<td>/ns/POD_NAMESPACE/sa/SERVICE_ACCOUNT}), so mesh workloads can reach its ports (e.g.
 * metrics on 15020) over mTLS. It is an ordinary {@link InboundProxy} (authority validation, port
 * resolution, RBAC, telemetry, drain) whose upstream connections never spoof the client address:
 * the upstream is a port of ztunnel itself.
 */
public final class SelfInbound {
  private SelfInbound() {}

  /**
   * Which workload the self listener serves: in shared mode with {@code POD_NAMESPACE}, {@code
   * POD_NAME} and {@code SERVICE_ACCOUNT} all set (and non-blank), ztunnel's own {@code
   * namespace/name/serviceAccount}; otherwise none (dedicated mode serves its workload on its own
   * 15008 already).
   */
  public static Optional<WorkloadInfo> workloadInfo(ZtunnelConfig.ProxyMode mode, ZtunnelConfig.Identity identity) {
    if (mode != ZtunnelConfig.ProxyMode.SHARED) {
      return Optional.empty();
    }
    Optional<String> ns = identity.podNamespace().filter(s -> !s.isBlank());
    Optional<String> name = identity.podName().filter(s -> !s.isBlank());
    Optional<String> sa = identity.serviceAccount().filter(s -> !s.isBlank());
    if (ns.isEmpty() || name.isEmpty() || sa.isEmpty()) {
      return Optional.empty();
    }
    return Optional.of(new WorkloadInfo(ns.get(), name.get(), sa.get()));
  }

  /**
   * ztunnel's own workload among the xDS {@code workloads}: same name, namespace and service
   * account and, when both ztunnel ({@code NODE_NAME}) and the workload name a node, the same node
   * (a same-named entry of another node is a stale one); ties go to the smallest uid.
   */
  public static Optional<Workload> find(Collection<Workload> workloads, WorkloadInfo info, Optional<String> node) {
    return workloads.stream()
        .filter(w -> w.name().equals(info.name())
            && w.namespace().equals(info.namespace())
            && w.serviceAccount().equals(info.serviceAccount())
            && (node.isEmpty() || w.node().isEmpty() || w.node().equals(node.get())))
        .min(Comparator.comparing(Workload::uid));
  }

  /**
   * Binds the self listener on {@code bind} (ztunnel's own netns: the calling thread's). {@code
   * inputs} must name the workload from {@link #workloadInfo}; its sockets are wrapped so the
   * listener is not transparent and upstream connections never bind to the client address.
   */
  public static InboundProxy bind(ProxyInputs inputs, InetSocketAddress bind) {
    requireNonNull(inputs, "inputs");
    ProxyInputs own = new ProxyInputs(inputs.config(), inputs.workload(), inputs.state(), inputs.policies(),
        inputs.authorizer(), inputs.live(), inputs.certificates(), neverSpoofing(inputs.sockets()), inputs.telemetry(),
        inputs.transport(), inputs.workers());
    return InboundProxy.bind(own, requireNonNull(bind, "bind"));
  }

  /**
   * {@code base} without IP_TRANSPARENT on the listener and without source spoofing: outgoing
   * sockets keep {@code base}'s mark and keepalive.
   */
  static Sockets neverSpoofing(Sockets base) {
    return new NeverSpoofing(requireNonNull(base, "base"));
  }

  private record NeverSpoofing(Sockets base) implements Sockets {
    @Override
    public Consumer<ServerBootstrap> listener() {
      // Not base.listener(): that one tries IP_TRANSPARENT (and records whether it got it).
      return b -> b.option(ChannelOption.SO_REUSEADDR, true)
          .childOption(ChannelOption.TCP_NODELAY, true)
          .childOption(ChannelOption.SO_KEEPALIVE, true);
    }

    @Override
    public boolean transparent() {
      return false;
    }

    @Override
    public Consumer<Bootstrap> outgoing(@Nullable InetAddress spoofSource) {
      return base.outgoing(null);
    }
  }
}
