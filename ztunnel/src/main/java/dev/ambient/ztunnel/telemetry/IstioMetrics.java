package dev.ambient.ztunnel.telemetry;

import static java.util.Objects.requireNonNull;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.util.EnumMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.jspecify.annotations.Nullable;

/**
 * ztunnel's Prometheus metrics (spec §9.1–§9.2): the {@code istio_tcp_*} traffic counters, the
 * {@code istio_tcp_sockets_open{reporter}} gauge, {@code istio_build}, {@code process_open_fds}
 * and {@code process_max_fds}, all in one {@link PrometheusMeterRegistry} that other components
 * (the xDS client's {@code istio_xds_*}) may share through {@link #registry()}. The admin server
 * serves {@link #scrape(String)} on {@code /metrics} and {@code /stats/prometheus}.
 *
 * <p>Thread-safe. The traffic counters are cached per label set, so reporting a connection costs
 * a few map lookups and no meter registration.
 */
public final class IstioMetrics {
  /** Prometheus text exposition (spec §9.1). */
  public static final String TEXT_CONTENT_TYPE = "text/plain; charset=utf-8";

  /** OpenMetrics exposition, served when {@code Accept} lists {@code application/openmetrics-text}. */
  public static final String OPENMETRICS_CONTENT_TYPE = "application/openmetrics-text;charset=utf-8;version=1.0.0";

  private static final String OPENMETRICS_MEDIA_TYPE = "application/openmetrics-text";
  // What the Prometheus writers are selected by (prometheus-metrics ExpositionFormats).
  private static final String TEXT_WRITER = "text/plain; version=0.0.4; charset=utf-8";
  private static final String OPENMETRICS_WRITER = "application/openmetrics-text; version=1.0.0; charset=utf-8";

  private final PrometheusMeterRegistry registry;
  private final TrafficCounters traffic = new TrafficCounters();
  private final Map<Reporter, AtomicLong> socketsOpen = new EnumMap<>(Reporter.class);

  /** A scrape result: the body and the content type to send it with. */
  public record Scrape(String contentType, String body) {
    public Scrape {
      requireNonNull(contentType, "contentType");
      requireNonNull(body, "body");
    }
  }

  /**
   * Metrics in a new registry.
   *
   * @param istioVersion {@code ISTIO_META_ISTIO_VERSION}, the {@code tag} of {@code istio_build}
   */
  public IstioMetrics(String istioVersion) {
    this(new PrometheusMeterRegistry(PrometheusConfig.DEFAULT), istioVersion);
  }

  /**
   * Metrics in {@code registry}. At most one instance per registry: the traffic counters'
   * names are claimed in its Prometheus registry (a second instance fails with
   * {@link IllegalStateException}).
   */
  public IstioMetrics(PrometheusMeterRegistry registry, String istioVersion) {
    this.registry = requireNonNull(registry, "registry");
    requireNonNull(istioVersion, "istioVersion");
    try {
      registry.getPrometheusRegistry().register(traffic);
    } catch (IllegalArgumentException e) {
      throw new IllegalStateException("istio_tcp_* metrics are already registered in this registry", e);
    }
    for (Reporter r : Reporter.values()) {
      AtomicLong open = new AtomicLong();
      socketsOpen.put(r, open);
      Gauge.builder("istio_tcp_sockets_open", open, AtomicLong::get)
          .description("The current number of open TCP sockets (unstable)")
          .tag("reporter", r.label())
          .register(registry);
    }
    Gauge.builder("istio_build", () -> 1)
        .description("Istio component build info")
        .tag("component", "ztunnel")
        .tag("tag", istioVersion)
        .register(registry);
    Gauge.builder("process_open_fds", FileDescriptors::open)
        .description("Number of open file descriptors")
        .register(registry);
    Gauge.builder("process_max_fds", FileDescriptors::max)
        .description("Maximum number of open file descriptors (soft limit)")
        .register(registry);
  }

  /** The registry, for other components' meters (e.g. the xDS client's {@code istio_xds_*}). */
  public MeterRegistry registry() {
    return registry;
  }

  /**
   * Renders all metrics. OpenMetrics when {@code accept} lists {@code application/openmetrics-text},
   * else the Prometheus text format (also for a null or unparseable header).
   */
  public Scrape scrape(@Nullable String accept) {
    if (wantsOpenMetrics(accept)) {
      return new Scrape(OPENMETRICS_CONTENT_TYPE, registry.scrape(OPENMETRICS_WRITER));
    }
    return new Scrape(TEXT_CONTENT_TYPE, registry.scrape(TEXT_WRITER));
  }

  /** True when one of the {@code Accept} media ranges is {@code application/openmetrics-text}. */
  static boolean wantsOpenMetrics(@Nullable String accept) {
    if (accept == null) {
      return false;
    }
    for (String range : accept.split(",")) {
      int semi = range.indexOf(';');
      String media = (semi < 0 ? range : range.substring(0, semi)).strip().toLowerCase(Locale.ROOT);
      if (media.equals(OPENMETRICS_MEDIA_TYPE) && !rejected(range)) {
        return true;
      }
    }
    return false;
  }

  /** A media range with {@code q=0} is explicitly not acceptable. */
  private static boolean rejected(String range) {
    for (String param : range.split(";")) {
      String p = param.strip().toLowerCase(Locale.ROOT);
      if (p.startsWith("q=")) {
        try {
          return Double.parseDouble(p.substring(2)) <= 0;
        } catch (NumberFormatException e) {
          return false;
        }
      }
    }
    return false;
  }

  void socketOpened(Reporter reporter) {
    socketsOpen.get(reporter).incrementAndGet();
  }

  void socketClosed(Reporter reporter) {
    socketsOpen.get(reporter).decrementAndGet();
  }

  void connectionOpened(TrafficLabels labels) {
    traffic.opened(labels);
  }

  void connectionClosed(TrafficLabels labels, long clientToServer, long serverToClient) {
    traffic.closed(labels, clientToServer, serverToClient);
  }
}
