package dev.ambient.ztunnel.admin;

import static java.util.Objects.requireNonNull;

import java.nio.charset.StandardCharsets;

/**
 * One rendered scrape: the content type the renderer chose for the request's {@code Accept}
 * header (Prometheus text or OpenMetrics) and the exposition body.
 */
public record MetricsScrape(String contentType, byte[] body) {
  /** Prometheus text exposition 0.0.4. */
  public static final String PROMETHEUS_TEXT = "text/plain; charset=utf-8";
  /** OpenMetrics 1.0.0. */
  public static final String OPENMETRICS_TEXT = "application/openmetrics-text;charset=utf-8;version=1.0.0";

  public MetricsScrape {
    requireNonNull(contentType, "contentType");
    requireNonNull(body, "body");
  }

  public static MetricsScrape of(String contentType, String body) {
    return new MetricsScrape(contentType, body.getBytes(StandardCharsets.UTF_8));
  }
}
