package dev.ambient.ztunnel.admin;

import static java.util.Objects.requireNonNull;

import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;

/**
 * The Prometheus scrape server (spec §9.1, default {@code [::]:15020}): {@code GET /metrics} and
 * {@code /stats/prometheus} answer with the scrape for the request's {@code Accept} header (the
 * supplied renderer chooses Prometheus text or OpenMetrics); other paths 404, other methods 405.
 * Responses are gzip/deflate-compressed when {@code Accept-Encoding} allows it.
 */
public final class MetricsServer implements AutoCloseable {
  static final Set<String> PATHS = Set.of("/metrics", "/stats/prometheus");

  private final HttpListener listener;

  private MetricsServer(HttpListener listener) {
    this.listener = listener;
  }

  /**
   * Listens on {@code bind}; {@code scrape} gets the request's {@code Accept} header ("" when
   * absent) and renders the metrics.
   *
   * @throws AdminBindException when the address cannot be bound
   */
  public static MetricsServer start(InetSocketAddress bind, Function<String, MetricsScrape> scrape) {
    requireNonNull(scrape, "scrape");
    return new MetricsServer(HttpListener.start("metrics server", List.of(requireNonNull(bind, "bind")), true,
        r -> CompletableFuture.completedFuture(respond(r, scrape))));
  }

  static Reply respond(Request request, Function<String, MetricsScrape> scrape) {
    if (!PATHS.contains(request.path())) {
      return Reply.notFound();
    }
    if (!request.method().equals(HttpMethod.GET)) {
      return Reply.methodNotAllowed("method not allowed: use GET /metrics\n");
    }
    String accept = request.headers().get(HttpHeaderNames.ACCEPT, "");
    MetricsScrape s = scrape.apply(accept);
    return new Reply(HttpResponseStatus.OK, s.contentType(), s.body());
  }

  public InetSocketAddress localAddress() {
    return listener.localAddresses().getFirst();
  }

  @Override
  public void close() {
    listener.close();
  }
}
