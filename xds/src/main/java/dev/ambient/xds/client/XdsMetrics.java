package dev.ambient.xds.client;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;

/**
 * The {@code istio_xds_*} metrics of spec §9.2. Names are given without {@code _total}: the
 * Prometheus registry appends it to counters.
 */
final class XdsMetrics {
  private final MeterRegistry registry;

  XdsMetrics(MeterRegistry registry) {
    this.registry = registry;
  }

  void termination(Backoff.Reason reason) {
    Counter.builder("istio_xds_connection_terminations")
        .description("xDS stream terminations by reason")
        .tag("reason", reason.label)
        .register(registry)
        .increment();
  }

  void message(String typeUrl, long payloadBytes) {
    Counter.builder("istio_xds_message")
        .description("xDS responses received")
        .tag("url", typeUrl)
        .register(registry)
        .increment();
    Counter.builder("istio_xds_message_bytes")
        .description("xDS resource payload bytes received")
        .tag("url", typeUrl)
        .register(registry)
        .increment(payloadBytes);
  }
}
