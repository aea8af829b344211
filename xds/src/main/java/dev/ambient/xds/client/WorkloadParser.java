package dev.ambient.xds.client;

import static dev.ambient.xds.client.CommonParsers.gatewayAddress;
import static dev.ambient.xds.client.CommonParsers.ip;

import com.google.protobuf.ByteString;
import dev.ambient.xds.api.workload.PortList;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** Converts an {@code istio.workload.Workload} into a {@link Workload}, enforcing spec §1.1. */
public final class WorkloadParser {
  private WorkloadParser() {}

  /** Validates and converts; throws with the reason for the first broken rule. */
  public static Workload parse(dev.ambient.xds.api.workload.Workload w) throws ResourceInvalidException {
    List<InetAddress> addresses = new ArrayList<>(w.getAddressesCount());
    for (ByteString b : w.getAddressesList()) {
      addresses.add(ip(b));
    }
    Workload.TunnelProtocol tunnel = switch (w.getTunnelProtocolValue()) {
      case 0 -> Workload.TunnelProtocol.NONE;
      case 1 -> Workload.TunnelProtocol.HBONE;
      case 2 -> throw new ResourceInvalidException("unsupported tunnel protocol LEGACY_ISTIO_MTLS");
      default -> throw new ResourceInvalidException("unknown tunnel protocol " + w.getTunnelProtocolValue());
    };
    Workload.WorkloadType type = switch (w.getWorkloadTypeValue()) {
      case 0 -> Workload.WorkloadType.DEPLOYMENT;
      case 1 -> Workload.WorkloadType.CRONJOB;
      case 2 -> Workload.WorkloadType.POD;
      case 3 -> Workload.WorkloadType.JOB;
      default -> throw new ResourceInvalidException("unknown workload type " + w.getWorkloadTypeValue());
    };
    Workload.Status status = switch (w.getStatusValue()) {
      case 0 -> Workload.Status.HEALTHY;
      case 1 -> Workload.Status.UNHEALTHY;
      default -> throw new ResourceInvalidException("unknown workload status " + w.getStatusValue());
    };
    Workload.NetworkMode networkMode = switch (w.getNetworkModeValue()) {
      case 0 -> Workload.NetworkMode.STANDARD;
      case 1 -> Workload.NetworkMode.HOST_NETWORK;
      default -> throw new ResourceInvalidException("unknown network mode " + w.getNetworkModeValue());
    };
    Optional<ApplicationTunnel> appTunnel = Optional.empty();
    if (w.hasApplicationTunnel()) {
      var t = w.getApplicationTunnel();
      ApplicationTunnel.Protocol p = switch (t.getProtocolValue()) {
        case 0 -> ApplicationTunnel.Protocol.NONE;
        case 1 -> ApplicationTunnel.Protocol.PROXY;
        default -> throw new ResourceInvalidException("unknown application tunnel protocol " + t.getProtocolValue());
      };
      appTunnel = Optional.of(new ApplicationTunnel(p, CommonParsers.u16(t.getPort())));
    }
    Map<String, List<Port>> services = new LinkedHashMap<>();
    for (Map.Entry<String, PortList> e : w.getServicesMap().entrySet()) {
      if (e.getKey().indexOf('/') < 0) {
        throw new ResourceInvalidException("service key \"" + e.getKey() + "\" is not namespace/hostname");
      }
      List<Port> ports = new ArrayList<>(e.getValue().getPortsCount());
      e.getValue().getPortsList().forEach(p -> ports.add(CommonParsers.port(p)));
      services.put(CommonParsers.shared(e.getKey()), ports);
    }
    Optional<Locality> locality = w.hasLocality()
        ? Optional.of(new Locality(CommonParsers.shared(w.getLocality().getRegion()),
            CommonParsers.shared(w.getLocality().getZone()), CommonParsers.shared(w.getLocality().getSubzone())))
        : Optional.empty();
    return new Workload(
        w.getUid(),
        w.getName(),
        CommonParsers.shared(w.getNamespace()),
        addresses,
        w.getHostname(),
        CommonParsers.shared(w.getNetwork()),
        tunnel,
        w.getTrustDomain().isEmpty() ? Workload.DEFAULT_TRUST_DOMAIN : CommonParsers.shared(w.getTrustDomain()),
        w.getServiceAccount().isEmpty() ? Workload.DEFAULT_SERVICE_ACCOUNT : CommonParsers.shared(w.getServiceAccount()),
        w.hasWaypoint() ? Optional.of(gatewayAddress(w.getWaypoint())) : Optional.empty(),
        w.hasNetworkGateway() ? Optional.of(gatewayAddress(w.getNetworkGateway())) : Optional.empty(),
        CommonParsers.shared(w.getNode()),
        CommonParsers.shared(w.getCanonicalName()),
        CommonParsers.shared(w.getCanonicalRevision()),
        type,
        CommonParsers.shared(w.getWorkloadName()),
        w.getNativeTunnel(),
        appTunnel,
        services,
        w.getAuthorizationPoliciesList().stream().map(CommonParsers::shared).toList(),
        status,
        w.getClusterId().isEmpty() ? Workload.DEFAULT_CLUSTER_ID : CommonParsers.shared(w.getClusterId()),
        locality,
        networkMode,
        w.hasCapacity() ? w.getCapacity().getValue() & Integer.MAX_VALUE : Workload.DEFAULT_CAPACITY);
  }
}
