package dev.ambient.ztunnel.admin;

import static java.util.Objects.requireNonNull;

import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.QueryStringDecoder;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** What a route sees of an HTTP request: method, decoded path and query, headers (body ignored). */
record Request(HttpMethod method, String path, Map<String, List<String>> query, HttpHeaders headers) {
  Request {
    requireNonNull(method, "method");
    requireNonNull(path, "path");
    query = Map.copyOf(query);
    requireNonNull(headers, "headers");
  }

  /** Splits {@code uri} ({@code /path?query}) into a request. */
  static Request of(HttpMethod method, String uri, HttpHeaders headers) {
    QueryStringDecoder d = new QueryStringDecoder(uri);
    return new Request(method, d.path(), d.parameters(), headers);
  }

  /** The first value of query parameter {@code name}; a bare {@code ?name} gives "". */
  Optional<String> param(String name) {
    List<String> values = query.get(name);
    return values == null || values.isEmpty() ? Optional.empty() : Optional.of(values.getFirst());
  }

  boolean hasParam(String name) {
    return query.containsKey(name);
  }
}
