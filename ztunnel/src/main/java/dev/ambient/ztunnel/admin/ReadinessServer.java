package dev.ambient.ztunnel.admin;

import static java.util.Objects.requireNonNull;

import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * The readiness probe server (spec §9.4, default {@code [::]:15021}): {@code GET /healthz/ready} is
 * 200 {@code ready\n} or 500 {@code not ready, pending: <tasks>\n}; other methods 405, other paths 404.
 */
public final class ReadinessServer implements AutoCloseable {
  static final String PATH = "/healthz/ready";

  private final HttpListener listener;

  private ReadinessServer(HttpListener listener) {
    this.listener = listener;
  }

  /**
   * Listens on {@code bind} and answers from {@code readiness}.
   *
   * @throws AdminBindException when the address cannot be bound
   */
  public static ReadinessServer start(InetSocketAddress bind, Readiness readiness) {
    requireNonNull(readiness, "readiness");
    return new ReadinessServer(HttpListener.start("readiness server", List.of(requireNonNull(bind, "bind")), false,
        r -> CompletableFuture.completedFuture(respond(r, readiness))));
  }

  /** The reply to {@code request} (pure apart from reading {@code readiness}). */
  static Reply respond(Request request, Readiness readiness) {
    if (!request.path().equals(PATH)) {
      return Reply.notFound();
    }
    if (!request.method().equals(HttpMethod.GET)) {
      return Reply.methodNotAllowed("method not allowed: use GET " + PATH + "\n");
    }
    List<String> pending = readiness.pendingTasks();
    return pending.isEmpty()
        ? Reply.text(HttpResponseStatus.OK, "ready\n")
        : Reply.text(HttpResponseStatus.INTERNAL_SERVER_ERROR,
            "not ready, pending: " + String.join(", ", pending) + "\n");
  }

  public InetSocketAddress localAddress() {
    return listener.localAddresses().getFirst();
  }

  @Override
  public void close() {
    listener.close();
  }
}
