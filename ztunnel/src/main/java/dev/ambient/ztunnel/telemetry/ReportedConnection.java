package dev.ambient.ztunnel.telemetry;

import org.jspecify.annotations.Nullable;

/**
 * One connection reported as opened; {@link #close} is called exactly once when it ends (further
 * calls are ignored).
 */
public interface ReportedConnection {
  /**
   * Reports the end of the connection.
   *
   * @param clientToServer bytes from the client towards the server ({@code istio_tcp_received_bytes_total})
   * @param serverToClient bytes from the server back to the client ({@code istio_tcp_sent_bytes_total})
   * @param flag the final {@code response_flags}
   * @param error why it failed, or null on success (access log {@code error} field)
   */
  void close(long clientToServer, long serverToClient, ResponseFlag flag, @Nullable String error);
}
