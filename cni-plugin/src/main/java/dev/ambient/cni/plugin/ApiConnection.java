package dev.ambient.cni.plugin;

import dev.ambient.cni.http.HttpHead;
import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import org.jspecify.annotations.Nullable;

/**
 * HTTP/1.1 GETs written by hand on one kept-alive socket, plain or TLS (the JDK's {@link SSLSocket}
 * with the kubeconfig's CA and the server name checked as HTTPS clients do). The plugin needs two
 * small GETs per pod; the JDK's HTTP client cost hundreds of milliseconds of class loading and
 * thread start-up for them. Bodies: Content-Length, chunked, or up to EOF; each bounded. Every read
 * and the connect are bounded by the timeout.
 */
final class ApiConnection implements AutoCloseable {
  static final int MAX_HEAD = 64 * 1024;
  static final int MAX_BODY = 4 * 1024 * 1024;

  /** A response: status and body (the whole body, decoded from chunked if need be). */
  record Response(int status, byte[] body) {
    String text() {
      return new String(body, StandardCharsets.UTF_8);
    }
  }

  private final String host;
  private final int port;
  private final @Nullable SSLContext tls;
  private final int timeoutMillis;
  private @Nullable Socket socket;
  private @Nullable InputStream in;

  /**
   * @param tls null for plain HTTP
   */
  ApiConnection(String host, int port, @Nullable SSLContext tls, int timeoutMillis) {
    this.host = host;
    this.port = port;
    this.tls = tls;
    this.timeoutMillis = timeoutMillis;
  }

  /** GET {@code path} (starting with '/'); reconnects when the server closed the previous exchange. */
  Response get(String path, @Nullable String bearerToken) throws IOException {
    StringBuilder req = new StringBuilder(256).append("GET ").append(path).append(" HTTP/1.1\r\n")
        .append("Host: ").append(hostHeader()).append("\r\n")
        .append("Accept: application/json\r\n")
        .append("User-Agent: istio-cni\r\n");
    if (bearerToken != null && !bearerToken.isEmpty()) {
      req.append("Authorization: Bearer ").append(bearerToken).append("\r\n");
    }
    req.append("\r\n");
    byte[] bytes = req.toString().getBytes(StandardCharsets.ISO_8859_1);
    boolean reused = socket != null;
    try {
      return exchange(bytes);
    } catch (IOException e) {
      close();
      if (!reused) {
        throw e;
      }
      return exchange(bytes); // the kept-alive connection went away: once more on a fresh one
    }
  }

  private Response exchange(byte[] request) throws IOException {
    if (socket == null) {
      connect();
    }
    Socket s = socket;
    InputStream i = in;
    if (s == null || i == null) {
      throw new IOException("not connected");
    }
    OutputStream out = s.getOutputStream();
    out.write(request);
    out.flush();
    HttpHead head = HttpHead.read(i, MAX_HEAD);
    if (head == null) {
      throw new EOFException("the API server closed the connection without answering");
    }
    int status = status(head.startLine());
    String te = head.header("transfer-encoding");
    byte[] body;
    if (te != null && te.toLowerCase(Locale.ROOT).contains("chunked")) {
      body = readChunked(i, MAX_BODY);
    } else {
      boolean untilEof = head.header("content-length") == null;
      body = head.readBody(i, MAX_BODY, untilEof);
      if (untilEof) {
        close();
      }
    }
    String conn = head.header("connection");
    if (conn != null && conn.equalsIgnoreCase("close") || head.startLine().startsWith("HTTP/1.0")) {
      close();
    }
    return new Response(status, body);
  }

  private void connect() throws IOException {
    Socket plain = new Socket();
    try {
      plain.setTcpNoDelay(true);
      plain.connect(new InetSocketAddress(host, port), timeoutMillis);
      plain.setSoTimeout(timeoutMillis);
      Socket s = plain;
      if (tls != null) {
        SSLSocket ssl = (SSLSocket) tls.getSocketFactory().createSocket(plain, host, port, true);
        SSLParameters p = ssl.getSSLParameters();
        p.setEndpointIdentificationAlgorithm("HTTPS");
        p.setApplicationProtocols(new String[] {"http/1.1"});
        if (!isIpLiteral(host)) {
          p.setServerNames(List.of(new SNIHostName(host)));
        }
        ssl.setSSLParameters(p);
        ssl.startHandshake();
        s = ssl;
      }
      socket = s;
      in = new BufferedInputStream(s.getInputStream(), 8192);
    } catch (IOException | RuntimeException e) {
      plain.close();
      throw e;
    }
  }

  private String hostHeader() {
    String h = host.indexOf(':') >= 0 ? "[" + host + "]" : host;
    return (tls == null && port == 80) || (tls != null && port == 443) ? h : h + ":" + port;
  }

  static boolean isIpLiteral(String host) {
    return host.indexOf(':') >= 0 || host.chars().allMatch(c -> c == '.' || c >= '0' && c <= '9');
  }

  /** The status code of an HTTP/1.x status line. */
  static int status(String statusLine) throws IOException {
    String[] parts = statusLine.split(" ", 3);
    if (parts.length >= 2 && parts[0].startsWith("HTTP/1.") && parts[1].length() == 3) {
      try {
        int code = Integer.parseInt(parts[1]);
        if (code >= 100) {
          return code;
        }
      } catch (NumberFormatException e) {
        // below
      }
    }
    throw new IOException("malformed HTTP status line from the API server: '" + statusLine + "'");
  }

  /** A chunked body (RFC 9112 §7.1), extensions and trailers skipped; at most {@code max} bytes. */
  static byte[] readChunked(InputStream in, int max) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream(4096);
    while (true) {
      String sizeLine = line(in);
      int semi = sizeLine.indexOf(';');
      String hex = (semi >= 0 ? sizeLine.substring(0, semi) : sizeLine).strip();
      long size;
      try {
        size = Long.parseLong(hex, 16);
      } catch (NumberFormatException e) {
        throw new IOException("bad chunk size '" + sizeLine + "'");
      }
      if (size < 0 || out.size() + size > max) {
        throw new IOException("chunked body exceeds " + max + " bytes");
      }
      if (size == 0) {
        while (!line(in).isEmpty()) {
          // trailer fields
        }
        return out.toByteArray();
      }
      byte[] chunk = in.readNBytes((int) size);
      if (chunk.length != size) {
        throw new EOFException("connection closed inside a chunk");
      }
      out.write(chunk);
      if (!line(in).isEmpty()) {
        throw new IOException("chunk not followed by CRLF");
      }
    }
  }

  /** One CRLF-terminated line (a bare LF accepted), at most 4 KiB. */
  private static String line(InputStream in) throws IOException {
    StringBuilder b = new StringBuilder();
    while (true) {
      int c = in.read();
      if (c < 0) {
        throw new EOFException("connection closed inside a chunked body");
      }
      if (c == '\n') {
        int n = b.length();
        return n > 0 && b.charAt(n - 1) == '\r' ? b.substring(0, n - 1) : b.toString();
      }
      if (b.length() >= 4096) {
        throw new IOException("line in chunked body longer than 4096 bytes");
      }
      b.append((char) c);
    }
  }

  @Override
  public void close() {
    Socket s = socket;
    socket = null;
    in = null;
    if (s != null) {
      try {
        s.close();
      } catch (IOException e) {
        // closing
      }
    }
  }
}
