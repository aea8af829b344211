package dev.ambient.ztunnel.admin;

import static java.util.Objects.requireNonNull;

import io.netty.handler.codec.http.HttpResponseStatus;
import java.nio.charset.StandardCharsets;

/** A complete HTTP response from a route: status, content type and body. */
record Reply(HttpResponseStatus status, String contentType, byte[] body) {
  static final String TEXT = "text/plain; charset=utf-8";
  static final String JSON = "application/json";
  static final String HTML = "text/html; charset=utf-8";

  Reply {
    requireNonNull(status, "status");
    requireNonNull(contentType, "contentType");
    requireNonNull(body, "body");
  }

  static Reply text(HttpResponseStatus status, String body) {
    return new Reply(status, TEXT, body.getBytes(StandardCharsets.UTF_8));
  }

  static Reply notFound() {
    return text(HttpResponseStatus.NOT_FOUND, "not found\n");
  }

  static Reply methodNotAllowed(String usage) {
    return text(HttpResponseStatus.METHOD_NOT_ALLOWED, usage);
  }

  /** The body as UTF-8 text (for tests and logs). */
  String bodyText() {
    return new String(body, StandardCharsets.UTF_8);
  }
}
