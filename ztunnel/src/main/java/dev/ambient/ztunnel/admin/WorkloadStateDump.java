package dev.ambient.ztunnel.admin;

import static java.util.Objects.requireNonNull;

import java.util.List;
import java.util.Optional;

/**
 * One in-pod workload in {@code /config_dump}'s {@code workloadState} (spec §9.5): its proxy state
 * ({@code Pending} or {@code Up}), free-form info and its live connections.
 */
public record WorkloadStateDump(String state, String info, List<Connection> inbound, List<Connection> outbound) {
  public WorkloadStateDump {
    requireNonNull(state, "state");
    requireNonNull(info, "info");
    inbound = List.copyOf(inbound);
    outbound = List.copyOf(outbound);
  }

  /**
   * One live connection.
   *
   * @param originalDst the {@code forwarded} host, if any
   * @param protocol {@code HBONE} when the peer had an identity, else {@code TCP}
   */
  public record Connection(String src, Optional<String> originalDst, String actualDst, String protocol) {
    public Connection {
      requireNonNull(src, "src");
      requireNonNull(originalDst, "originalDst");
      requireNonNull(actualDst, "actualDst");
      requireNonNull(protocol, "protocol");
    }
  }
}
