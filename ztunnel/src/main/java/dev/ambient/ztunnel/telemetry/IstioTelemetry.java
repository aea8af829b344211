package dev.ambient.ztunnel.telemetry;

import static java.util.Objects.requireNonNull;

import dev.ambient.ztunnel.ZtunnelConfig.LogFormat;
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.LongSupplier;
import org.jspecify.annotations.Nullable;

/**
 * The real {@link ConnectionTelemetry}: Istio metrics ({@link IstioMetrics}) plus the access log
 * ({@link AccessLog}). Thread-safe; a {@link ReportedConnection} reports its close once, later
 * calls are ignored.
 */
public final class IstioTelemetry implements ConnectionTelemetry {
  private final IstioMetrics metrics;
  private final AccessLog accessLog;
  private final LongSupplier nanoTime;

  public IstioTelemetry(IstioMetrics metrics, LogFormat logFormat) {
    this(metrics, new AccessLog(logFormat), System::nanoTime);
  }

  /** @param nanoTime a monotonic clock in nanoseconds, for the access log {@code duration} */
  public IstioTelemetry(IstioMetrics metrics, AccessLog accessLog, LongSupplier nanoTime) {
    this.metrics = requireNonNull(metrics, "metrics");
    this.accessLog = requireNonNull(accessLog, "accessLog");
    this.nanoTime = requireNonNull(nanoTime, "nanoTime");
  }

  public IstioMetrics metrics() {
    return metrics;
  }

  @Override
  public void socketOpened(Reporter reporter) {
    metrics.socketOpened(reporter);
  }

  @Override
  public void socketClosed(Reporter reporter) {
    metrics.socketClosed(reporter);
  }

  @Override
  public ReportedConnection opened(ConnectionFacts facts) {
    TrafficLabels labels = TrafficLabels.of(facts);
    metrics.connectionOpened(labels);
    accessLog.opened(facts, labels);
    return new Reported(facts, labels, nanoTime.getAsLong());
  }

  @Override
  public void failed(Reporter reporter, InetSocketAddress source, InetSocketAddress destination, String error) {
    accessLog.failed(reporter, source, destination, error);
  }

  private final class Reported extends AtomicBoolean implements ReportedConnection {
    private final ConnectionFacts facts;
    private final TrafficLabels labels;
    private final long startNanos;

    Reported(ConnectionFacts facts, TrafficLabels labels, long startNanos) {
      this.facts = facts;
      this.labels = labels;
      this.startNanos = startNanos;
    }

    @Override
    public void close(long clientToServer, long serverToClient, ResponseFlag flag, @Nullable String error) {
      requireNonNull(flag, "flag");
      if (!compareAndSet(false, true)) {
        return;
      }
      TrafficLabels closed = labels.withResponseFlag(flag);
      metrics.connectionClosed(closed, clientToServer, serverToClient);
      long millis = TimeUnit.NANOSECONDS.toMillis(nanoTime.getAsLong() - startNanos);
      accessLog.complete(facts, closed, clientToServer, serverToClient, millis, error);
    }
  }
}
