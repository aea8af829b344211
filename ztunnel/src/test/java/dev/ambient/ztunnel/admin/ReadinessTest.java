package dev.ambient.ztunnel.admin;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ambient.testing.LeakDetectionExtension;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import java.net.InetSocketAddress;
import java.net.http.HttpResponse;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

@ExtendWith(LeakDetectionExtension.class)
class ReadinessTest {
  private ReadinessServer server;

  @AfterEach
  void close() {
    if (server != null) {
      server.close();
    }
  }

  @Test
  void readiness_pendingUntilEveryHandleIsDone() {
    Readiness r = new Readiness();
    assertThat(r.ready()).isTrue();
    Readiness.Task proxy = r.register("proxy");
    Readiness.Task state1 = r.register("state manager");
    Readiness.Task state2 = r.register("state manager");
    assertThat(r.pendingDescription()).isEqualTo("proxy, state manager");

    state1.done();
    state1.done(); // idempotent: must not release state2's registration
    assertThat(r.pendingTasks()).containsExactly("proxy", "state manager");
    state2.done();
    proxy.done();
    assertThat(r.ready()).isTrue();
    assertThat(r.pendingDescription()).isEmpty();
  }

  @Test
  void register_blankName_rejected() {
    assertThatThrownBy(() -> new Readiness().register(" ")).isInstanceOf(IllegalArgumentException.class);
  }

  @ParameterizedTest(name = "{0} {1} -> {2}")
  @CsvSource({
      "GET, /healthz/ready, 500",
      "POST, /healthz/ready, 405",
      "PUT, /healthz/ready, 405",
      "GET, /healthz, 404",
      "GET, /, 404",
      "POST, /other, 404",
  })
  void respond_byMethodAndPath(String method, String path, int status) {
    Readiness r = new Readiness();
    r.register("dns proxy");
    Reply reply = ReadinessServer.respond(
        Request.of(HttpMethod.valueOf(method), path, new DefaultHttpHeaders()), r);
    assertThat(reply.status().code()).isEqualTo(status);
  }

  @Test
  void healthzReady_overHttp_500ListingSortedPendingThen200() throws Exception {
    Readiness r = new Readiness();
    Readiness.Task state = r.register("state manager");
    Readiness.Task proxy = r.register("proxy");
    Readiness.Task dns = r.register("dns proxy");
    server = ReadinessServer.start(new InetSocketAddress("127.0.0.1", 0), r);

    HttpResponse<String> notReady = Http.get(server.localAddress(), "/healthz/ready");
    assertThat(notReady.statusCode()).isEqualTo(500);
    assertThat(notReady.body()).isEqualTo("not ready, pending: dns proxy, proxy, state manager\n");

    state.done();
    dns.done();
    assertThat(Http.get(server.localAddress(), "/healthz/ready").body()).isEqualTo("not ready, pending: proxy\n");

    proxy.done();
    HttpResponse<String> ready = Http.get(server.localAddress(), "/healthz/ready");
    assertThat(ready.statusCode()).isEqualTo(200);
    assertThat(ready.body()).isEqualTo("ready\n");
    assertThat(ready.headers().firstValue("content-type")).hasValue(Reply.TEXT);
  }

  @Test
  void healthzReady_overHttp_wrongMethodAndPath() throws Exception {
    server = ReadinessServer.start(new InetSocketAddress("127.0.0.1", 0), new Readiness());
    assertThat(Http.post(server.localAddress(), "/healthz/ready").statusCode()).isEqualTo(405);
    assertThat(Http.get(server.localAddress(), "/ready").statusCode()).isEqualTo(404);
    assertThat(Http.get(server.localAddress(), "/healthz/ready").statusCode()).isEqualTo(200);
  }

  @Test
  void start_portInUse_errorNamesThePort() {
    server = ReadinessServer.start(new InetSocketAddress("127.0.0.1", 0), new Readiness());
    int port = server.localAddress().getPort();
    assertThatThrownBy(() -> ReadinessServer.start(new InetSocketAddress("127.0.0.1", port), new Readiness()))
        .isInstanceOf(AdminBindException.class)
        .hasMessageContaining("readiness server")
        .hasMessageContaining("127.0.0.1 port " + port)
        .hasMessageContaining("in use");
  }
}
