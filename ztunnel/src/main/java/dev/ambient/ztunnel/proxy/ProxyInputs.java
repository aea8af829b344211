package dev.ambient.ztunnel.proxy;

import static java.util.Objects.requireNonNull;

import dev.ambient.net.Transport;
import dev.ambient.ztunnel.ZtunnelConfig;
import dev.ambient.ztunnel.authz.Authorizer;
import dev.ambient.ztunnel.authz.LiveConnections;
import dev.ambient.ztunnel.authz.PolicyIndex;
import dev.ambient.ztunnel.state.StateHolder;
import dev.ambient.ztunnel.telemetry.ConnectionTelemetry;
import io.netty.channel.EventLoopGroup;
import java.util.function.Supplier;

/**
 * Everything one proxy instance (one workload in dedicated mode, one pod in shared mode) needs:
 * state snapshots, policies, certificates, socket options, telemetry and the event loops.
 *
 * @param workload the workload this proxy serves ({@code PROXY_WORKLOAD_INFO} or from ZDS)
 * @param policies the current policy index (one volatile read)
 */
public record ProxyInputs(
    ZtunnelConfig config,
    ZtunnelConfig.WorkloadInfo workload,
    StateHolder state,
    Supplier<PolicyIndex> policies,
    Authorizer authorizer,
    LiveConnections live,
    WorkloadCertificates certificates,
    Sockets sockets,
    ConnectionTelemetry telemetry,
    Transport transport,
    EventLoopGroup workers) {

  public ProxyInputs {
    requireNonNull(config, "config");
    requireNonNull(workload, "workload");
    requireNonNull(state, "state");
    requireNonNull(policies, "policies");
    requireNonNull(authorizer, "authorizer");
    requireNonNull(live, "live");
    requireNonNull(certificates, "certificates");
    requireNonNull(sockets, "sockets");
    requireNonNull(telemetry, "telemetry");
    requireNonNull(transport, "transport");
    requireNonNull(workers, "workers");
  }
}
