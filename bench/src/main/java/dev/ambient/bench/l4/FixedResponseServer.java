package dev.ambient.bench.l4;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Locale;

/**
 * The benchmark's HTTP application: HTTP/1.1 with keep-alive, every request (any method and path)
 * gets a 200 with a fixed body of {@code bodyBytes} bytes. One virtual thread per connection, so
 * it holds 10,000 idle connections cheaply. Prints {@code READY <port>} when it listens.
 *
 * <p>Usage: {@code FixedResponseServer <bind-address> <port> [bodyBytes=1024]}
 */
public final class FixedResponseServer {
  private FixedResponseServer() {}

  public static void main(String[] args) throws IOException {
    if (args.length < 2) {
      System.err.println("usage: FixedResponseServer <bind-address> <port> [bodyBytes]");
      System.exit(2);
    }
    int bodyBytes = args.length > 2 ? Integer.parseInt(args[2]) : 1024;
    byte[] response = response(bodyBytes);
    try (ServerSocket server = new ServerSocket()) {
      server.setReuseAddress(true);
      server.bind(new InetSocketAddress(args[0], Integer.parseInt(args[1])), 16384);
      System.out.println("READY " + server.getLocalPort());
      System.out.flush();
      while (true) {
        Socket s = server.accept();
        Thread.ofVirtual().start(() -> serve(s, response));
      }
    }
  }

  static byte[] response(int bodyBytes) {
    byte[] head = ("HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: " + bodyBytes
        + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII);
    byte[] r = Arrays.copyOf(head, head.length + bodyBytes);
    Arrays.fill(r, head.length, r.length, (byte) 'x');
    return r;
  }

  private static void serve(Socket s, byte[] response) {
    try (s) {
      s.setTcpNoDelay(true);
      InputStream in = new BufferedInputStream(s.getInputStream(), 8192);
      OutputStream out = s.getOutputStream();
      while (true) {
        RequestHead head = RequestHead.read(in);
        if (head == null) {
          return;
        }
        in.skipNBytes(head.contentLength());
        out.write(response);
        out.flush();
        if (head.close()) {
          return;
        }
      }
    } catch (IOException | RuntimeException e) {
      // the client went away or sent garbage: drop the connection
    }
  }

  /** What the server needs of a request head: the body length to skip and whether to close after it. */
  record RequestHead(long contentLength, boolean close) {
    private static final int MAX_HEAD = 16384;

    /** Reads one request head; null at a clean end of stream before any byte of a request. */
    static @org.jspecify.annotations.Nullable RequestHead read(InputStream in) throws IOException {
      StringBuilder line = new StringBuilder();
      long length = 0;
      boolean close = false;
      boolean first = true;
      int total = 0;
      while (true) {
        int b = in.read();
        if (b < 0) {
          if (first && line.isEmpty()) {
            return null;
          }
          throw new IOException("end of stream inside a request head");
        }
        if (++total > MAX_HEAD) {
          throw new IOException("request head longer than " + MAX_HEAD + " bytes");
        }
        if (b != '\n') {
          if (b != '\r') {
            line.append((char) b);
          }
          continue;
        }
        if (line.isEmpty()) {
          if (first) {
            continue; // tolerate a stray CRLF between requests
          }
          return new RequestHead(length, close);
        }
        String l = line.toString().toLowerCase(Locale.ROOT);
        if (first && l.endsWith(" http/1.0")) {
          close = true;
        }
        if (l.startsWith("content-length:")) {
          length = Long.parseLong(l.substring(15).strip());
        } else if (l.startsWith("connection:")) {
          close = l.contains("close");
        }
        first = false;
        line.setLength(0);
      }
    }
  }
}
