package dev.ambient.ztunnel.telemetry;

import static dev.ambient.ztunnel.telemetry.TelemetryFixtures.outboundHbone;
import static dev.ambient.ztunnel.telemetry.TelemetryFixtures.workload;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ambient.xds.client.Locality;
import io.micrometer.core.instrument.Counter;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.util.Arrays;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class IstioMetricsTest {
  private final IstioMetrics metrics = new IstioMetrics("1.24.0");

  private void oneFailedConnection() {
    TrafficLabels labels = TrafficLabels.of(outboundHbone());
    metrics.connectionOpened(labels);
    metrics.connectionClosed(labels.withResponseFlag(ResponseFlag.CONNECT), 3, 4);
  }

  /** Metric family name to type, from the {@code # TYPE} lines. */
  private static Map<String, String> types(String body) {
    return body.lines().filter(l -> l.startsWith("# TYPE "))
        .map(l -> l.substring("# TYPE ".length()).split(" "))
        .collect(Collectors.toMap(p -> p[0], p -> p[1], (a, b) -> a, TreeMap::new));
  }

  /** The metric names of the sample lines. */
  private static Set<String> sampleNames(String body) {
    return body.lines().filter(l -> !l.isEmpty() && !l.startsWith("#"))
        .map(l -> l.split("[{ ]")[0]).collect(Collectors.toCollection(java.util.TreeSet::new));
  }

  @Test
  void prometheusTextExposesExactlyIstiosNames() {
    oneFailedConnection();
    IstioMetrics.Scrape scrape = metrics.scrape("text/plain");
    assertThat(scrape.contentType()).isEqualTo("text/plain; charset=utf-8");
    assertThat(types(scrape.body())).containsExactlyEntriesOf(new TreeMap<>(Map.of(
        "istio_build", "gauge",
        "istio_tcp_connections_closed_total", "counter",
        "istio_tcp_connections_failed_total", "counter",
        "istio_tcp_connections_opened_total", "counter",
        "istio_tcp_received_bytes_total", "counter",
        "istio_tcp_sent_bytes_total", "counter",
        "istio_tcp_sockets_open", "gauge",
        "process_max_fds", "gauge",
        "process_open_fds", "gauge")));
    assertThat(sampleNames(scrape.body())).containsExactly("istio_build", "istio_tcp_connections_closed_total",
        "istio_tcp_connections_failed_total", "istio_tcp_connections_opened_total", "istio_tcp_received_bytes_total",
        "istio_tcp_sent_bytes_total", "istio_tcp_sockets_open", "process_max_fds", "process_open_fds");
    assertThat(scrape.body()).doesNotContain("_total_total").doesNotContain("_created");
  }

  @Test
  void openMetricsOnRequest() {
    oneFailedConnection();
    IstioMetrics.Scrape scrape =
        metrics.scrape("application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5");
    assertThat(scrape.contentType()).isEqualTo("application/openmetrics-text;charset=utf-8;version=1.0.0");
    assertThat(scrape.body()).endsWith("# EOF\n")
        .contains("# TYPE istio_tcp_received_bytes counter\n")
        .contains("\nistio_tcp_received_bytes_total{")
        .contains("\nistio_build{component=\"ztunnel\",tag=\"1.24.0\"} 1.0\n")
        .doesNotContain("_total_total");
  }

  @ParameterizedTest
  @CsvSource(delimiter = '|', nullValues = "NULL", value = {
      "NULL | false",
      "'' | false",
      "*/* | false",
      "text/plain | false",
      "application/openmetrics-text | true",
      "Application/OpenMetrics-Text; version=1.0.0 | true",
      "text/plain;q=0.9, application/openmetrics-text;version=0.0.1;q=0.8 | true",
      "application/openmetrics-text;q=0 | false",
      "application/openmetrics-text;q=x | true",
      "application/openmetrics-textual | false",
      "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily | false"})
  void acceptNegotiation(String accept, boolean openMetrics) {
    assertThat(IstioMetrics.wantsOpenMetrics(accept)).isEqualTo(openMetrics);
    assertThat(metrics.scrape(accept).contentType()).isEqualTo(openMetrics
        ? IstioMetrics.OPENMETRICS_CONTENT_TYPE : IstioMetrics.TEXT_CONTENT_TYPE);
  }

  @Test
  void buildInfoHasOnlyComponentAndTag() {
    assertThat(metrics.scrape(null).body()).contains("\nistio_build{component=\"ztunnel\",tag=\"1.24.0\"} 1.0\n");
  }

  @Test
  void fileDescriptorGaugesReadProc() {
    String body = metrics.scrape(null).body();
    double open = sample(body, "process_open_fds");
    double max = sample(body, "process_max_fds");
    assertThat(open).isGreaterThanOrEqualTo(3).isLessThanOrEqualTo(max);
    assertThat(max).isEqualTo((double) FileDescriptors.softLimit(read("/proc/self/limits")).orElseThrow());
  }

  @ParameterizedTest
  @CsvSource(delimiter = '|', nullValues = "NULL", value = {
      "Max open files            1024                 4096                 files     | 1024",
      "Max open files            unlimited            unlimited            files     | NULL",
      "Max open files | NULL",
      "Max processes             63000                63000                processes | NULL"})
  void softLimitFromLimitsRow(String row, Long expected) {
    String text = "Limit                     Soft Limit           Hard Limit           Units     \n"
        + "Max cpu time              unlimited            unlimited            seconds   \n" + row + "\n";
    assertThat(FileDescriptors.softLimit(text))
        .isEqualTo(expected == null ? OptionalLong.empty() : OptionalLong.of(expected));
  }

  @Test
  void otherComponentsShareTheRegistry() {
    Counter.builder("istio_xds_message").tag("url", "type.googleapis.com/istio.workload.Address")
        .register(metrics.registry()).increment(2);
    assertThat(metrics.scrape(null).body())
        .contains("\nistio_xds_message_total{url=\"type.googleapis.com/istio.workload.Address\"} 2.0\n");
  }

  @Test
  void acceptsAnExistingRegistryButOnlyOnce() {
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    IstioMetrics first = new IstioMetrics(registry, "x");
    assertThat(first.registry()).isSameAs(registry);
    assertThatThrownBy(() -> new IstioMetrics(registry, "x")).isInstanceOf(IllegalStateException.class);
  }

  /** Micrometer would drop a meter whose tag keys differ from an earlier one; the collector keeps both. */
  @Test
  void seriesWithAndWithoutLocalityCoexist() {
    ConnectionFacts f = outboundHbone();
    ConnectionFacts located = new ConnectionFacts(f.reporter(), f.source(), f.destination(), f.hboneAuthority(),
        Optional.of(workload("c", "ns-client", "sa", "c", "c", "v1", "k", Optional.of(new Locality("eu", "eu-a", "")))),
        f.sourceIdentity(), f.destinationWorkload(), f.destinationIdentity(), f.destinationService(),
        f.securityPolicy(), Map.of());
    metrics.connectionOpened(TrafficLabels.of(f));
    metrics.connectionOpened(TrafficLabels.of(located));
    String[] lines = metrics.scrape(null).body().lines()
        .filter(l -> l.startsWith("istio_tcp_connections_opened_total{")).toArray(String[]::new);
    assertThat(lines).hasSize(2);
    assertThat(Arrays.stream(lines).filter(l -> l.contains("source_region=\"eu\"") && l.contains("source_zone=\"eu-a\"")
        && l.contains("destination_region=\"unknown\""))).hasSize(1);
    assertThat(Arrays.stream(lines).filter(l -> !l.contains("_region="))).hasSize(1);
  }

  static double sample(String body, String name) {
    return body.lines().filter(l -> l.startsWith(name + " ")).mapToDouble(l -> Double.parseDouble(l.split(" ")[1]))
        .findFirst().orElseThrow(() -> new AssertionError("no sample " + name + " in\n" + body));
  }

  private static String read(String path) {
    try {
      return java.nio.file.Files.readString(java.nio.file.Path.of(path));
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }
}
