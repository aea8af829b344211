package dev.ambient.ztunnel.telemetry;

import java.net.InetSocketAddress;

/** Where the proxy paths report connections (metrics and access log). Thread-safe. */
public interface ConnectionTelemetry {
  /** A socket was accepted ({@code istio_tcp_sockets_open{reporter}} + 1). */
  void socketOpened(Reporter reporter);

  /** An accepted socket was closed ({@code istio_tcp_sockets_open{reporter}} - 1). */
  void socketClosed(Reporter reporter);

  /** A connection established enough to report: opened counter, {@code connection opened} log. */
  ReportedConnection opened(ConnectionFacts facts);

  /**
   * An early denial before any context exists ({@code connection failed} WARN log: src.addr,
   * dst.addr, direction, error).
   */
  void failed(Reporter reporter, InetSocketAddress source, InetSocketAddress destination, String error);

  /** Reports nothing; for tests that do not look at telemetry. */
  ConnectionTelemetry NOOP = new ConnectionTelemetry() {
    @Override
    public void socketOpened(Reporter reporter) {}

    @Override
    public void socketClosed(Reporter reporter) {}

    @Override
    public ReportedConnection opened(ConnectionFacts facts) {
      return (up, down, flag, error) -> {};
    }

    @Override
    public void failed(Reporter reporter, InetSocketAddress source, InetSocketAddress destination, String error) {}
  };
}
