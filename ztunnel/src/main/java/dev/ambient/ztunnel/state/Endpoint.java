package dev.ambient.ztunnel.state;

import static java.util.Objects.requireNonNull;

import dev.ambient.xds.client.Port;
import dev.ambient.xds.client.Workload;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;

/**
 * A workload's membership in one service: the workload uid, its per-endpoint port map (service port
 * to target port, from the workload's {@code services} entry) and its health when it was inserted.
 */
public record Endpoint(String workloadUid, Map<Integer, Integer> targetPorts, Workload.Status status) {
  public Endpoint {
    requireNonNull(workloadUid, "workloadUid");
    targetPorts = Map.copyOf(targetPorts);
    requireNonNull(status, "status");
  }

  /** The endpoint of {@code workload} in the service whose port list in the workload is {@code ports}. */
  public static Endpoint of(Workload workload, List<Port> ports) {
    Map<Integer, Integer> map = new HashMap<>();
    for (Port p : ports) {
      map.putIfAbsent(p.servicePort(), p.targetPort());
    }
    return new Endpoint(workload.uid(), map, workload.status());
  }

  /** The target port this endpoint maps {@code servicePort} to, if it has a (non-zero) mapping. */
  public OptionalInt targetPort(int servicePort) {
    Integer p = targetPorts.get(servicePort);
    return p == null || p == 0 ? OptionalInt.empty() : OptionalInt.of(p);
  }
}
