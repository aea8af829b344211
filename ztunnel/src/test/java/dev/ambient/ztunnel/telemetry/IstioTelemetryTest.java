package dev.ambient.ztunnel.telemetry;

import static dev.ambient.ztunnel.telemetry.TelemetryFixtures.outboundHbone;
import static dev.ambient.ztunnel.telemetry.TelemetryFixtures.sock;
import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.ambient.ztunnel.ZtunnelConfig.LogFormat;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

class IstioTelemetryTest {
  /** The traffic labels of {@link TelemetryFixtures#outboundHbone()} as exposed (sorted by name). */
  private static final String LABELS = "{connection_security_policy=\"mutual_tls\",destination_app=\"server-app\","
      + "destination_canonical_revision=\"v2\",destination_canonical_service=\"server-app\","
      + "destination_cluster=\"cluster-b\","
      + "destination_principal=\"spiffe://cluster.local/ns/ns-server/sa/sa-server\","
      + "destination_service=\"echo.ns-server.svc.cluster.local\",destination_service_name=\"echo\","
      + "destination_service_namespace=\"ns-server\",destination_version=\"v2\","
      + "destination_workload=\"server-deploy\",destination_workload_namespace=\"ns-server\",reporter=\"source\","
      + "request_protocol=\"tcp\",response_flags=\"%s\",source_app=\"client-app\",source_canonical_revision=\"v1\","
      + "source_canonical_service=\"client-app\",source_cluster=\"cluster-a\","
      + "source_principal=\"spiffe://cluster.local/ns/ns-client/sa/sa-client\",source_version=\"v1\","
      + "source_workload=\"client-deploy\",source_workload_namespace=\"ns-client\"}";

  private final AtomicLong nanos = new AtomicLong(1_000_000_000L);
  private final String loggerName = "access-test-" + System.identityHashCode(this);
  private final ch.qos.logback.classic.Logger logger =
      (ch.qos.logback.classic.Logger) LoggerFactory.getLogger(loggerName);
  private final ListAppender<ILoggingEvent> events = new ListAppender<>();
  private final IstioMetrics metrics = new IstioMetrics("1.24.0");

  IstioTelemetryTest() {
    logger.setLevel(Level.DEBUG);
    logger.setAdditive(false);
    events.start();
    logger.addAppender(events);
  }

  @AfterEach
  void detach() {
    logger.detachAppender(events);
  }

  private IstioTelemetry telemetry(LogFormat format) {
    return new IstioTelemetry(metrics, new AccessLog(format, LoggerFactory.getLogger(loggerName)), nanos::get);
  }

  private String scrape() {
    return metrics.scrape(null).body();
  }

  private static String line(String name, ResponseFlag flag, String value) {
    return "\n" + name + LABELS.formatted(flag.label()) + " " + value + "\n";
  }

  @Test
  void openAndCloseCountTheConnectionAndItsBytes() {
    IstioTelemetry telemetry = telemetry(LogFormat.PLAIN);
    ReportedConnection conn = telemetry.opened(outboundHbone());
    assertThat(scrape()).contains(line("istio_tcp_connections_opened_total", ResponseFlag.NONE, "1.0"))
        .doesNotContain("istio_tcp_connections_closed_total{");

    conn.close(67, 490, ResponseFlag.NONE, null);

    assertThat(scrape())
        .contains(line("istio_tcp_connections_opened_total", ResponseFlag.NONE, "1.0"))
        .contains(line("istio_tcp_connections_closed_total", ResponseFlag.NONE, "1.0"))
        .contains(line("istio_tcp_received_bytes_total", ResponseFlag.NONE, "67.0"))
        .contains(line("istio_tcp_sent_bytes_total", ResponseFlag.NONE, "490.0"))
        .doesNotContain("istio_tcp_connections_failed_total{");
  }

  @Test
  void aFailureFlagCountsAsFailedUnderTheFinalFlag() {
    IstioTelemetry telemetry = telemetry(LogFormat.PLAIN);
    telemetry.opened(outboundHbone()).close(5, 0, ResponseFlag.CONNECT, "connection refused");
    telemetry.opened(outboundHbone()).close(1, 1, ResponseFlag.NONE, null);

    assertThat(scrape())
        .contains(line("istio_tcp_connections_opened_total", ResponseFlag.NONE, "2.0"))
        .contains(line("istio_tcp_connections_closed_total", ResponseFlag.CONNECT, "1.0"))
        .contains(line("istio_tcp_connections_closed_total", ResponseFlag.NONE, "1.0"))
        .contains(line("istio_tcp_connections_failed_total", ResponseFlag.CONNECT, "1.0"))
        .contains(line("istio_tcp_received_bytes_total", ResponseFlag.CONNECT, "5.0"))
        .doesNotContain("istio_tcp_connections_failed_total" + LABELS.formatted("-"))
        .doesNotContain("istio_tcp_connections_opened_total" + LABELS.formatted("CONNECT"));
  }

  @Test
  void closeIsReportedOnce() {
    IstioTelemetry telemetry = telemetry(LogFormat.PLAIN);
    ReportedConnection conn = telemetry.opened(outboundHbone());
    conn.close(10, 20, ResponseFlag.NONE, null);
    conn.close(1000, 2000, ResponseFlag.CONNECT, "late");

    assertThat(scrape())
        .contains(line("istio_tcp_connections_closed_total", ResponseFlag.NONE, "1.0"))
        .contains(line("istio_tcp_received_bytes_total", ResponseFlag.NONE, "10.0"))
        .doesNotContain("response_flags=\"CONNECT\"");
    assertThat(events.list).extracting(ILoggingEvent::getLevel).containsExactly(Level.DEBUG, Level.INFO);
  }

  @Test
  void socketsGaugeFollowsOpenAndClose() {
    IstioTelemetry telemetry = telemetry(LogFormat.PLAIN);
    telemetry.socketOpened(Reporter.SOURCE);
    telemetry.socketOpened(Reporter.SOURCE);
    telemetry.socketOpened(Reporter.DESTINATION);
    assertThat(scrape()).contains("\nistio_tcp_sockets_open{reporter=\"source\"} 2.0\n")
        .contains("\nistio_tcp_sockets_open{reporter=\"destination\"} 1.0\n");
    telemetry.socketClosed(Reporter.SOURCE);
    telemetry.socketClosed(Reporter.DESTINATION);
    assertThat(scrape()).contains("\nistio_tcp_sockets_open{reporter=\"source\"} 1.0\n")
        .contains("\nistio_tcp_sockets_open{reporter=\"destination\"} 0.0\n");
  }

  @Test
  void buildInfo() {
    assertThat(scrape()).contains("\nistio_build{component=\"ztunnel\",tag=\"1.24.0\"} 1.0\n");
  }

  @Test
  void accessLogLevelsMessagesAndDuration() {
    IstioTelemetry telemetry = telemetry(LogFormat.PLAIN);
    ReportedConnection ok = telemetry.opened(outboundHbone());
    nanos.addAndGet(13_900_000L);
    ok.close(67, 490, ResponseFlag.NONE, null);
    ReportedConnection bad = telemetry.opened(outboundHbone());
    nanos.addAndGet(2_000_000_000L);
    bad.close(0, 0, ResponseFlag.CONNECT, "http status: 503");
    telemetry.failed(Reporter.DESTINATION, sock("198.18.0.1", 1234), sock("198.18.0.2", 15006), "self call");

    assertThat(events.list).extracting(ILoggingEvent::getLevel)
        .containsExactly(Level.DEBUG, Level.INFO, Level.DEBUG, Level.ERROR, Level.WARN);
    List<String> messages = events.list.stream().map(ILoggingEvent::getFormattedMessage).toList();
    assertThat(messages.get(0)).startsWith("connection opened\tsrc.addr=198.18.0.1:46238 ")
        .endsWith(" direction=\"outbound\"");
    assertThat(messages.get(1)).startsWith("connection complete\t")
        .endsWith(" bytes_sent=67 bytes_recv=490 duration=\"13ms\"");
    assertThat(messages.get(3)).endsWith(" duration=\"2000ms\" error=\"http status: 503\"");
    assertThat(messages.get(4)).isEqualTo("connection failed\tsrc.addr=198.18.0.1:1234 dst.addr=198.18.0.2:15006 "
        + "direction=\"inbound\" error=\"self call\"");
    assertThat(events.list.get(4).getKeyValuePairs()).extracting(kv -> kv.key + "=" + kv.value)
        .containsExactly("src.addr=198.18.0.1:1234", "dst.addr=198.18.0.2:15006", "direction=inbound",
            "error=self call");
  }

  @Test
  void jsonFormat() {
    telemetry(LogFormat.JSON).failed(Reporter.SOURCE, sock("198.18.0.1", 1), sock("198.18.0.2", 2), "no route");
    assertThat(events.list.getFirst().getFormattedMessage()).isEqualTo("{\"message\":\"connection failed\","
        + "\"src.addr\":\"198.18.0.1:1\",\"dst.addr\":\"198.18.0.2:2\",\"direction\":\"outbound\","
        + "\"error\":\"no route\"}");
  }

  @Test
  void disabledLevelsLogNothing() {
    logger.setLevel(Level.INFO);
    IstioTelemetry telemetry = telemetry(LogFormat.PLAIN);
    telemetry.opened(outboundHbone()).close(1, 1, ResponseFlag.NONE, null);
    assertThat(events.list).extracting(ILoggingEvent::getMessage).singleElement().asString()
        .startsWith("connection complete");
  }

  @Test
  void concurrentConnectionsAreAllCounted() throws Exception {
    IstioTelemetry telemetry = telemetry(LogFormat.PLAIN);
    logger.setLevel(Level.OFF);
    int threads = 4;
    int perThread = 500;
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    try {
      List<Future<?>> done = new ArrayList<>();
      for (int t = 0; t < threads; t++) {
        done.add(pool.submit(() -> {
          for (int i = 0; i < perThread; i++) {
            telemetry.socketOpened(Reporter.SOURCE);
            ReportedConnection c = telemetry.opened(outboundHbone());
            c.close(3, 5, ResponseFlag.NONE, null);
            c.close(3, 5, ResponseFlag.NONE, null);
            telemetry.socketClosed(Reporter.SOURCE);
          }
        }));
      }
      for (Future<?> f : done) {
        f.get(30, TimeUnit.SECONDS);
      }
    } finally {
      pool.shutdownNow();
    }
    int n = threads * perThread;
    assertThat(scrape())
        .contains(line("istio_tcp_connections_opened_total", ResponseFlag.NONE, n + ".0"))
        .contains(line("istio_tcp_connections_closed_total", ResponseFlag.NONE, n + ".0"))
        .contains(line("istio_tcp_received_bytes_total", ResponseFlag.NONE, 3 * n + ".0"))
        .contains(line("istio_tcp_sent_bytes_total", ResponseFlag.NONE, 5 * n + ".0"))
        .contains("\nistio_tcp_sockets_open{reporter=\"source\"} 0.0\n");
  }
}
