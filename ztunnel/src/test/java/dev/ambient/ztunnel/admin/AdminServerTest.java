package dev.ambient.ztunnel.admin;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ch.qos.logback.classic.Level;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.ambient.testing.LeakDetectionExtension;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.slf4j.LoggerFactory;

@ExtendWith(LeakDetectionExtension.class)
class AdminServerTest {
  private static final List<InetSocketAddress> LOCAL_EPHEMERAL = List.of(new InetSocketAddress("127.0.0.1", 0));

  private final AtomicInteger shutdownCalls = new AtomicInteger();
  private final CompletableFuture<Void> shutdownDone = new CompletableFuture<>();
  private final Supplier<CompletableFuture<Void>> shutdown = () -> {
    shutdownCalls.incrementAndGet();
    return shutdownDone;
  };
  private LogLevels processLevels;
  private AdminServer server;

  @AfterEach
  void close() {
    if (server != null) {
      server.close();
    }
    if (processLevels != null) {
      processLevels.reset();
    }
  }

  private AdminServer start(Duration deadline) {
    processLevels = LogLevels.ofProcess();
    server = AdminServer.start(LOCAL_EPHEMERAL, new ConfigDump.Sources() {}, processLevels, shutdown, deadline);
    return server;
  }

  @Test
  void index_htmlListingEndpoints() throws Exception {
    start(Duration.ofSeconds(1));
    HttpResponse<String> r = Http.get(server.localAddress(), "/");
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.headers().firstValue("content-type")).hasValue(Reply.HTML);
    assertThat(r.body()).contains("/config_dump", "/logging", "/quitquitquit");
    assertThat(Http.get(server.localAddress(), "/debug/pprof/profile").statusCode()).isEqualTo(404);
  }

  @Test
  void configDump_anyMethod_json() throws Exception {
    start(Duration.ofSeconds(1));
    for (String method : List.of("GET", "POST")) {
      HttpResponse<String> r = Http.send(method, server.localAddress(), "/config_dump");
      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(r.headers().firstValue("content-type")).hasValue(Reply.JSON);
      JsonNode dump = new ObjectMapper().readTree(r.body());
      assertThat(dump.has("workloads") && dump.has("certificates") && dump.has("version")).isTrue();
    }
  }

  @Test
  void logging_get_405WithUsage() throws Exception {
    start(Duration.ofSeconds(1));
    HttpResponse<String> r = Http.get(server.localAddress(), "/logging?level=debug");
    assertThat(r.statusCode()).isEqualTo(405);
    assertThat(r.body()).contains("usage:", "?reset");
  }

  @Test
  void logging_post_changesLogbackLevels_thenReset() throws Exception {
    start(Duration.ofSeconds(1));
    ch.qos.logback.classic.Logger access = (ch.qos.logback.classic.Logger) LoggerFactory.getLogger("access");
    Level before = access.getEffectiveLevel();

    HttpResponse<String> changed = Http.post(server.localAddress(), "/logging?level=access=trace,dev.ambient=info");
    assertThat(changed.statusCode()).isEqualTo(200);
    assertThat(changed.body()).startsWith("new log level is ").contains("access=trace", "dev.ambient=info");
    assertThat(access.getEffectiveLevel()).isEqualTo(Level.TRACE);
    assertThat(LoggerFactory.getLogger("access").isTraceEnabled()).isTrue();

    HttpResponse<String> shown = Http.post(server.localAddress(), "/logging");
    assertThat(shown.body()).startsWith("current log level is ").contains("access=trace");

    HttpResponse<String> bad = Http.post(server.localAddress(), "/logging?level=access=loud");
    assertThat(bad.statusCode()).isEqualTo(400);
    assertThat(bad.body()).contains("invalid log level 'loud'");
    assertThat(access.getEffectiveLevel()).isEqualTo(Level.TRACE);

    HttpResponse<String> reset = Http.post(server.localAddress(), "/logging?reset");
    assertThat(reset.statusCode()).isEqualTo(200);
    assertThat(access.getEffectiveLevel()).isEqualTo(before);
  }

  @Test
  void quitquitquit_get_405_andNoShutdown() throws Exception {
    start(Duration.ofSeconds(1));
    assertThat(Http.get(server.localAddress(), "/quitquitquit").statusCode()).isEqualTo(405);
    assertThat(shutdownCalls).hasValue(0);
  }

  @Test
  void quitquitquit_post_triggersShutdownOnce_repliesWhenDone() throws Exception {
    start(Duration.ofSeconds(30));
    CompletableFuture<HttpResponse<String>> first = CompletableFuture.supplyAsync(() -> post("/quitquitquit"));
    CompletableFuture<HttpResponse<String>> second = CompletableFuture.supplyAsync(() -> post("/quitquitquit"));
    Thread.sleep(300);
    assertThat(first).isNotDone(); // waiting for the drain
    shutdownDone.complete(null);

    assertThat(first.get().statusCode()).isEqualTo(200);
    assertThat(first.get().body()).isEqualTo("shutdown now\n");
    assertThat(second.get().body()).isEqualTo("shutdown now\n");
    assertThat(shutdownCalls).hasValue(1);
  }

  @Test
  void quitquitquit_drainNeverEnds_repliesAtTheDeadline() throws Exception {
    start(Duration.ofMillis(300));
    long t0 = System.nanoTime();
    HttpResponse<String> r = Http.post(server.localAddress(), "/quitquitquit");
    long ms = (System.nanoTime() - t0) / 1_000_000;
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.body()).isEqualTo("shutdown now\n");
    assertThat(ms).isBetween(250L, 5_000L);
    assertThat(shutdownCalls).hasValue(1);
  }

  @Test
  void start_nonLoopbackAddress_rejected() {
    assertThatThrownBy(() -> AdminServer.start(List.of(new InetSocketAddress("198.18.0.1", 0)),
        new ConfigDump.Sources() {}, LogLevels.ofProcess(), shutdown, Duration.ofSeconds(1)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("loopback only");
  }

  @Test
  void loopbackAddresses_onlyLoopback_v4First() {
    List<InetSocketAddress> addresses = AdminServer.loopbackAddresses(15000);
    assertThat(addresses.getFirst().getAddress().getHostAddress()).isEqualTo("127.0.0.1");
    assertThat(addresses).allSatisfy(a -> {
      assertThat(a.getAddress().isLoopbackAddress()).isTrue();
      assertThat(a.getPort()).isEqualTo(15000);
    });
  }

  @Test
  void start_publicEntryPoint_bindsEveryLoopbackOnOnePort() throws Exception {
    server = AdminServer.start(0, new ConfigDump.Sources() {}, shutdown, Duration.ofSeconds(1));
    processLevels = LogLevels.ofProcess();
    int port = server.localAddress().getPort();
    assertThat(server.localAddresses()).allSatisfy(a -> {
      assertThat(a.getAddress().isLoopbackAddress()).isTrue();
      assertThat(a.getPort()).isEqualTo(port);
    });
    for (InetSocketAddress a : server.localAddresses()) {
      assertThat(Http.get(a, "/").statusCode()).isEqualTo(200);
    }
    if (java.net.NetworkInterface.getByInetAddress(InetAddress.ofLiteral("::1")) != null) {
      assertThat(server.localAddresses()).hasSize(2);
    }
  }

  @Test
  void start_portInUse_errorNamesAddressAndPort() {
    start(Duration.ofSeconds(1));
    int port = server.localAddress().getPort();
    assertThatThrownBy(() -> AdminServer.start(port, new ConfigDump.Sources() {}, shutdown, Duration.ofSeconds(1)))
        .isInstanceOf(AdminBindException.class)
        .hasMessageContaining("admin server on 127.0.0.1 port " + port);
  }

  private HttpResponse<String> post(String path) {
    try {
      return Http.post(server.localAddress(), path);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }
}
