package dev.ambient.cni.agent;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Executors;
import java.util.function.BooleanSupplier;

/**
 * The agent's health port (spec §2.1 step 2, {@code :8000}): {@code /healthz} is always 200;
 * {@code /readyz} is 200 only when the agent is ready (start-up finished and the plugin installed),
 * 503 before.
 */
final class HealthServer implements AutoCloseable {
  private final HttpServer server;

  private HealthServer(HttpServer server) {
    this.server = server;
  }

  /** Binds {@code address} (port 0: any free port) and serves on virtual threads. */
  static HealthServer start(InetSocketAddress address, BooleanSupplier ready) throws IOException {
    HttpServer s = HttpServer.create(address, 16);
    s.createContext("/healthz", ex -> answer(ex, 200, "ok"));
    s.createContext("/readyz", ex -> {
      boolean r = ready.getAsBoolean();
      answer(ex, r ? 200 : 503, r ? "ready" : "not ready");
    });
    s.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
    s.start();
    return new HealthServer(s);
  }

  int port() {
    return server.getAddress().getPort();
  }

  private static void answer(HttpExchange ex, int status, String text) throws IOException {
    try (ex) {
      byte[] body = (text + "\n").getBytes(StandardCharsets.UTF_8);
      ex.getResponseHeaders().set("Content-Type", "text/plain; charset=utf-8");
      if (!ex.getRequestURI().getPath().equals(ex.getHttpContext().getPath())) {
        byte[] nf = "not found\n".getBytes(StandardCharsets.UTF_8);
        ex.sendResponseHeaders(404, nf.length);
        ex.getResponseBody().write(nf);
        return;
      }
      ex.sendResponseHeaders(status, body.length);
      try (OutputStream out = ex.getResponseBody()) {
        out.write(body);
      }
    }
  }

  @Override
  public void close() {
    server.stop(0);
  }
}
