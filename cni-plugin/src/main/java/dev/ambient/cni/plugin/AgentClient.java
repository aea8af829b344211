package dev.ambient.cni.plugin;

import dev.ambient.cni.http.HttpHead;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;

/**
 * {@code POST /cmdadd} to the node agent: HTTP/1.1 written by hand on a unix stream socket. The
 * whole exchange is bounded by a timeout (5 s like istio's client): a watchdog closes the channel,
 * which unblocks the read.
 */
final class AgentClient {
  static final Duration TIMEOUT = Duration.ofSeconds(5);

  /** The agent's answer. */
  record Response(int status, String body) {}

  private final Path socket;
  private final Duration timeout;

  AgentClient(Path socket, Duration timeout) {
    this.socket = socket;
    this.timeout = timeout;
  }

  Response post(String path, String json) throws IOException {
    byte[] body = json.getBytes(StandardCharsets.UTF_8);
    String head = "POST " + path + " HTTP/1.1\r\n"
        + "Host: unix\r\n"
        + "Content-Type: application/json\r\n"
        + "Content-Length: " + body.length + "\r\n"
        + "Connection: close\r\n\r\n";
    try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
      Thread watchdog = Thread.ofPlatform().daemon().start(() -> {
        try {
          Thread.sleep(timeout);
          ch.close();
        } catch (InterruptedException | IOException e) {
          // done in time, or already closed
        }
      });
      try {
        ch.connect(UnixDomainSocketAddress.of(socket));
        ByteBuffer out = ByteBuffer.allocate(head.length() + body.length);
        out.put(head.getBytes(StandardCharsets.ISO_8859_1)).put(body).flip();
        while (out.hasRemaining()) {
          ch.write(out);
        }
        InputStream in = new BufferedInputStream(Channels.newInputStream(ch));
        HttpHead response = HttpHead.read(in, 16 * 1024);
        if (response == null) {
          throw new IOException("the agent closed the connection without answering");
        }
        String[] status = response.startLine().split(" ", 3);
        int code;
        try {
          code = status.length >= 2 && status[0].startsWith("HTTP/1.") ? Integer.parseInt(status[1]) : -1;
        } catch (NumberFormatException e) {
          code = -1;
        }
        if (code < 100) {
          throw new IOException("malformed HTTP status line from the agent: " + response.startLine());
        }
        byte[] rb = response.readBody(in, 64 * 1024, true);
        return new Response(code, new String(rb, StandardCharsets.UTF_8).strip());
      } catch (IOException e) {
        if (!watchdog.isAlive()) {
          throw new IOException("no answer from the agent within " + timeout.toMillis() + " ms", e);
        }
        throw e;
      } finally {
        watchdog.interrupt();
      }
    }
  }
}
