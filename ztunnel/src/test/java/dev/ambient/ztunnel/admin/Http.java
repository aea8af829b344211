package dev.ambient.ztunnel.admin;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

/** A tiny java.net.http client for the endpoint tests. */
final class Http {
  private static final HttpClient CLIENT = HttpClient.newBuilder()
      .version(HttpClient.Version.HTTP_1_1)
      .connectTimeout(Duration.ofSeconds(5))
      .build();

  private Http() {}

  static URI uri(InetSocketAddress server, String pathAndQuery) {
    String host = server.getAddress().getHostAddress();
    if (host.contains(":")) {
      host = "[" + host + "]";
    }
    return URI.create("http://" + host + ":" + server.getPort() + pathAndQuery);
  }

  static HttpResponse<String> send(String method, InetSocketAddress server, String pathAndQuery)
      throws IOException, InterruptedException {
    return CLIENT.send(request(method, server, pathAndQuery).build(), HttpResponse.BodyHandlers.ofString());
  }

  static HttpRequest.Builder request(String method, InetSocketAddress server, String pathAndQuery) {
    return HttpRequest.newBuilder(uri(server, pathAndQuery))
        .timeout(Duration.ofSeconds(10))
        .method(method, HttpRequest.BodyPublishers.noBody());
  }

  static HttpResponse<byte[]> sendBytes(HttpRequest request) throws IOException, InterruptedException {
    return CLIENT.send(request, HttpResponse.BodyHandlers.ofByteArray());
  }

  static HttpResponse<String> get(InetSocketAddress server, String path) throws IOException, InterruptedException {
    return send("GET", server, path);
  }

  static HttpResponse<String> post(InetSocketAddress server, String path) throws IOException, InterruptedException {
    return send("POST", server, path);
  }
}
