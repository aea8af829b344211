package dev.ambient.bench.l4;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Opens {@code count} TCP connections to {@code host:port} (through whatever path the namespace
 * routes them), sends one HTTP request on each and reads the response (so every hop of the path
 * is really established), then holds them all until its standard input closes, then closes them.
 * Prints {@code HOLDING <open> FAILED <failed>} once all attempts are done, {@code CLOSED} at the end.
 *
 * <p>Usage: {@code ConnectionHolder <host> <port> <count> [parallel=64]}
 */
public final class ConnectionHolder {
  private static final byte[] REQUEST =
      "GET /hold HTTP/1.1\r\nHost: l4-bench\r\n\r\n".getBytes(StandardCharsets.US_ASCII);

  private ConnectionHolder() {}

  public static void main(String[] args) throws Exception {
    if (args.length < 3) {
      System.err.println("usage: ConnectionHolder <host> <port> <count> [parallel]");
      System.exit(2);
    }
    InetSocketAddress target = new InetSocketAddress(args[0], Integer.parseInt(args[1]));
    int count = Integer.parseInt(args[2]);
    int parallel = args.length > 3 ? Integer.parseInt(args[3]) : 64;
    Queue<Socket> open = new ConcurrentLinkedQueue<>();
    AtomicInteger failed = new AtomicInteger();
    AtomicInteger firstErrors = new AtomicInteger();
    Semaphore permits = new Semaphore(parallel);
    try (var exec = java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor()) {
      for (int i = 0; i < count; i++) {
        permits.acquire();
        exec.submit(() -> {
          try {
            open.add(openOne(target));
          } catch (IOException e) {
            failed.incrementAndGet();
            if (firstErrors.incrementAndGet() <= 5) {
              System.out.println("error: " + e);
            }
          } finally {
            permits.release();
          }
        });
      }
    }
    System.out.println("HOLDING " + open.size() + " FAILED " + failed.get());
    System.out.flush();
    System.in.transferTo(java.io.OutputStream.nullOutputStream());
    for (Socket s : List.copyOf(open)) {
      s.close();
    }
    System.out.println("CLOSED");
  }

  private static Socket openOne(InetSocketAddress target) throws IOException {
    Socket s = new Socket();
    try {
      s.connect(target, (int) TimeUnit.SECONDS.toMillis(10));
      s.setSoTimeout((int) TimeUnit.SECONDS.toMillis(30));
      s.getOutputStream().write(REQUEST);
      readResponse(s.getInputStream());
      return s;
    } catch (IOException e) {
      s.close();
      throw e;
    }
  }

  /** Reads one response with a Content-Length body. */
  private static void readResponse(InputStream in) throws IOException {
    StringBuilder head = new StringBuilder();
    while (!head.toString().endsWith("\r\n\r\n")) {
      int b = in.read();
      if (b < 0) {
        throw new IOException("connection closed before a response");
      }
      head.append((char) b);
    }
    String h = head.toString();
    if (!h.startsWith("HTTP/1.1 200")) {
      throw new IOException("not a 200: " + h.lines().findFirst().orElse(""));
    }
    int i = h.toLowerCase(java.util.Locale.ROOT).indexOf("content-length:");
    long length = i < 0 ? 0 : Long.parseLong(h.substring(i + 15, h.indexOf('\r', i)).strip());
    in.skipNBytes(length);
  }
}
