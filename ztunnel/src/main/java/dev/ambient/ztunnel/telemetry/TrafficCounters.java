package dev.ambient.ztunnel.telemetry;

import io.prometheus.metrics.model.registry.MultiCollector;
import io.prometheus.metrics.model.snapshots.CounterSnapshot;
import io.prometheus.metrics.model.snapshots.CounterSnapshot.CounterDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * The five {@code istio_tcp_*} traffic counters, one {@link LongAdder} per label set. A connection
 * costs map lookups; series are created on first use and never removed (as in ztunnel).
 *
 * <p>Why not micrometer counters: the locality labels are present only on some series, and
 * micrometer's Prometheus registry refuses (silently drops) a meter whose tag keys differ from an
 * earlier meter of the same name. The Prometheus data model allows it, so these counters are
 * exposed by this collector registered directly in the Prometheus registry.
 */
final class TrafficCounters implements MultiCollector {
  /** Names without {@code _total}; the exposition formats append it to counters. */
  static final String OPENED = "istio_tcp_connections_opened";
  static final String CLOSED = "istio_tcp_connections_closed";
  static final String FAILED = "istio_tcp_connections_failed";
  static final String RECEIVED = "istio_tcp_received_bytes";
  static final String SENT = "istio_tcp_sent_bytes";

  private final Map<TrafficLabels, LongAdder> opened = new ConcurrentHashMap<>();
  private final Map<TrafficLabels, LongAdder> closed = new ConcurrentHashMap<>();
  private final Map<TrafficLabels, LongAdder> failed = new ConcurrentHashMap<>();
  private final Map<TrafficLabels, LongAdder> received = new ConcurrentHashMap<>();
  private final Map<TrafficLabels, LongAdder> sent = new ConcurrentHashMap<>();

  void opened(TrafficLabels labels) {
    adder(opened, labels).increment();
  }

  /**
   * A connection ended; {@code labels} carry the final response flag. The failed counter counts
   * connections closed with a flag other than {@code -}.
   */
  void closed(TrafficLabels labels, long clientToServer, long serverToClient) {
    adder(closed, labels).increment();
    adder(received, labels).add(Math.max(0, clientToServer));
    adder(sent, labels).add(Math.max(0, serverToClient));
    if (!labels.get(TrafficLabels.RESPONSE_FLAGS).equals(ResponseFlag.NONE.label())) {
      adder(failed, labels).increment();
    }
  }

  private static LongAdder adder(Map<TrafficLabels, LongAdder> map, TrafficLabels labels) {
    LongAdder a = map.get(labels); // get first: computeIfAbsent locks the bin even on a hit
    return a != null ? a : map.computeIfAbsent(labels, k -> new LongAdder());
  }

  @Override
  public MetricSnapshots collect() {
    return new MetricSnapshots(
        snapshot(OPENED, "The total number of TCP connections opened", opened),
        snapshot(CLOSED, "The total number of TCP connections closed", closed),
        snapshot(FAILED, "The total number of TCP connections that failed (unstable)", failed),
        snapshot(RECEIVED, "The size of total bytes received during request in case of a TCP connection", received),
        snapshot(SENT, "The size of total bytes sent during response in case of a TCP connection", sent));
  }

  @Override
  public List<String> getPrometheusNames() {
    return List.of(OPENED, CLOSED, FAILED, RECEIVED, SENT);
  }

  private static CounterSnapshot snapshot(String name, String help, Map<TrafficLabels, LongAdder> series) {
    CounterSnapshot.Builder b = CounterSnapshot.builder().name(name).help(help);
    series.forEach((labels, count) -> b.dataPoint(
        CounterDataPointSnapshot.builder().labels(labels.prometheusLabels()).value(count.sum()).build()));
    return b.build();
  }
}
