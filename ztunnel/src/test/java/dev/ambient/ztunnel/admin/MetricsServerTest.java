package dev.ambient.ztunnel.admin;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ambient.testing.LeakDetectionExtension;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Function;
import java.util.zip.GZIPInputStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

@ExtendWith(LeakDetectionExtension.class)
class MetricsServerTest {
  /** Large enough that compression clearly pays. */
  private static final String BODY = "# TYPE istio_build gauge\n"
      + "istio_build{component=\"ztunnel\",tag=\"unknown\"} 1\n".repeat(200);

  private final List<String> acceptSeen = new CopyOnWriteArrayList<>();
  private MetricsServer server;

  /** Mimics IstioMetrics.scrape: OpenMetrics when asked for, Prometheus text otherwise. */
  private final Function<String, MetricsScrape> scrape = accept -> {
    acceptSeen.add(accept);
    return accept.contains("application/openmetrics-text")
        ? MetricsScrape.of(MetricsScrape.OPENMETRICS_TEXT, BODY + "# EOF\n")
        : MetricsScrape.of(MetricsScrape.PROMETHEUS_TEXT, BODY);
  };

  @BeforeEach
  void start() {
    server = MetricsServer.start(new InetSocketAddress("127.0.0.1", 0), scrape);
  }

  @AfterEach
  void close() {
    server.close();
  }

  @ParameterizedTest
  @ValueSource(strings = {"/metrics", "/stats/prometheus"})
  void scrape_noAccept_prometheusText(String path) throws Exception {
    HttpResponse<String> r = Http.get(server.localAddress(), path);
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.headers().firstValue("content-type")).hasValue(MetricsScrape.PROMETHEUS_TEXT);
    assertThat(r.headers().firstValue("content-encoding")).isEmpty();
    assertThat(r.body()).isEqualTo(BODY);
    assertThat(acceptSeen).containsExactly("");
  }

  @Test
  void scrape_acceptOpenMetrics_passesAcceptAndUsesItsContentType() throws Exception {
    String accept = "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
    HttpResponse<byte[]> r = Http.sendBytes(Http.request("GET", server.localAddress(), "/metrics")
        .header("Accept", accept).build());
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.headers().firstValue("content-type")).hasValue(MetricsScrape.OPENMETRICS_TEXT);
    assertThat(new String(r.body(), StandardCharsets.UTF_8)).endsWith("# EOF\n");
    assertThat(acceptSeen).containsExactly(accept);
  }

  @Test
  void scrape_acceptEncodingGzip_compressedBodyDecodesToTheScrape() throws Exception {
    HttpResponse<byte[]> r = Http.sendBytes(Http.request("GET", server.localAddress(), "/metrics")
        .header("Accept-Encoding", "gzip").build());
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.headers().firstValue("content-encoding")).hasValue("gzip");
    assertThat(r.headers().firstValue("content-type")).hasValue(MetricsScrape.PROMETHEUS_TEXT);
    assertThat(r.body().length).isLessThan(BODY.length() / 4);
    assertThat(gunzip(r.body())).isEqualTo(BODY);
  }

  @Test
  void otherPath_404_andScrapeNotCalled() throws Exception {
    assertThat(Http.get(server.localAddress(), "/metricsx").statusCode()).isEqualTo(404);
    assertThat(Http.get(server.localAddress(), "/").statusCode()).isEqualTo(404);
    assertThat(acceptSeen).isEmpty();
  }

  @Test
  void post_405() throws Exception {
    assertThat(Http.post(server.localAddress(), "/metrics").statusCode()).isEqualTo(405);
    assertThat(acceptSeen).isEmpty();
  }

  @Test
  void scrapeThrows_500_andServerKeepsServing() throws Exception {
    MetricsServer failing = MetricsServer.start(new InetSocketAddress("127.0.0.1", 0), a -> {
      throw new IllegalStateException("registry broken");
    });
    try {
      HttpResponse<String> r = Http.get(failing.localAddress(), "/metrics");
      assertThat(r.statusCode()).isEqualTo(500);
      assertThat(r.body()).contains("registry broken");
      assertThat(Http.get(failing.localAddress(), "/metrics").statusCode()).isEqualTo(500);
    } finally {
      failing.close();
    }
  }

  private static String gunzip(byte[] gz) throws IOException {
    try (GZIPInputStream in = new GZIPInputStream(new ByteArrayInputStream(gz))) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
  }
}
