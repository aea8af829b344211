package dev.ambient.cni.agent;

import dev.ambient.cni.http.HttpException;
import dev.ambient.cni.http.HttpHead;
import dev.ambient.cni.json.JsonException;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;
import org.jspecify.annotations.Nullable;

/**
 * The agent side of the plugin hand-off (spec §1.8): HTTP/1.1 {@code POST /cmdadd} on a unix
 * stream socket. It answers 200 only after {@link PodSetup#addToMesh} returned for that pod; 503
 * while the agent is not ready, 400 for a bad body, 500 with the failure's message otherwise.
 *
 * <p>One virtual thread per connection; one request per connection (the plugin sends one and closes).
 * The socket file is created with mode 0666 (kubelet's plugin runs as root anyway; the mode matches
 * istio's) and removed on {@link #close()}.
 */
public final class PluginEventServer implements AutoCloseable {
  private static final Logger LOG = System.getLogger(PluginEventServer.class.getName());
  private static final int MAX_HEAD = 16 * 1024;
  private static final int MAX_BODY = 1024 * 1024;

  private final Path socket;
  private final PodSetup setup;
  private final BooleanSupplier ready;
  private final Map<Integer, AtomicLong> responses = new ConcurrentHashMap<>();
  private @Nullable ServerSocketChannel server;
  private @Nullable Thread acceptor;

  /**
   * @param ready answers 503 while this is false (the agent has not finished its start-up snapshot)
   */
  public PluginEventServer(Path socket, PodSetup setup, BooleanSupplier ready) {
    this.socket = Objects.requireNonNull(socket, "socket");
    this.setup = Objects.requireNonNull(setup, "setup");
    this.ready = Objects.requireNonNull(ready, "ready");
  }

  /** A server that is ready at once. */
  public PluginEventServer(Path socket, PodSetup setup) {
    this(socket, setup, () -> true);
  }

  /** Binds the socket (removing a stale file first) and starts accepting. */
  public synchronized PluginEventServer start() throws IOException {
    if (server != null) {
      throw new IllegalStateException("already started");
    }
    Path dir = socket.toAbsolutePath().getParent();
    if (dir != null && !Files.isDirectory(dir)) {
      Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwxr-x---")));
    }
    Files.deleteIfExists(socket);
    ServerSocketChannel ch = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
    try {
      ch.bind(UnixDomainSocketAddress.of(socket));
      Files.setPosixFilePermissions(socket, PosixFilePermissions.fromString("rw-rw-rw-"));
    } catch (IOException e) {
      ch.close();
      throw e;
    }
    server = ch;
    acceptor = Thread.ofPlatform().daemon().name("cni-plugin-events").start(() -> acceptLoop(ch));
    LOG.log(Level.INFO, "CNI plugin event server listening on {0}", socket);
    return this;
  }

  public Path socket() {
    return socket;
  }

  /** How many responses with this status were sent (for metrics and tests). */
  public long responses(int status) {
    AtomicLong n = responses.get(status);
    return n == null ? 0 : n.get();
  }

  private void acceptLoop(ServerSocketChannel ch) {
    while (ch.isOpen()) {
      try {
        SocketChannel c = ch.accept();
        Thread.ofVirtual().name("cni-plugin-event").start(() -> serve(c));
      } catch (ClosedChannelException e) {
        return;
      } catch (IOException e) {
        LOG.log(Level.WARNING, "accept on {0} failed: {1}", socket, e.getMessage());
      }
    }
  }

  private void serve(SocketChannel c) {
    try (c) {
      InputStream in = new BufferedInputStream(Channels.newInputStream(c));
      OutputStream out = Channels.newOutputStream(c);
      int status;
      String message;
      try {
        HttpHead head = HttpHead.read(in, MAX_HEAD);
        if (head == null) {
          return;
        }
        byte[] body = head.readBody(in, MAX_BODY, false);
        Answer a = handle(head, new String(body, StandardCharsets.UTF_8));
        status = a.status;
        message = a.message;
      } catch (HttpException e) {
        status = e.status();
        message = e.getMessage();
      }
      respond(out, status, message == null ? "" : message);
    } catch (IOException e) {
      LOG.log(Level.DEBUG, "plugin connection failed: {0}", e.getMessage());
    }
  }

  private record Answer(int status, @Nullable String message) {}

  private Answer handle(HttpHead head, String body) {
    String[] start = head.startLine().split(" ", 3);
    if (start.length != 3 || !start[2].startsWith("HTTP/1.")) {
      return new Answer(400, "malformed request line");
    }
    if (!start[1].equals("/cmdadd")) {
      return new Answer(404, "no handler for " + start[1]);
    }
    if (!start[0].equals("POST")) {
      return new Answer(405, "use POST");
    }
    if (!ready.getAsBoolean()) {
      return new Answer(503, "node agent not ready");
    }
    CmdAdd add;
    try {
      add = CmdAdd.fromJson(body);
    } catch (JsonException e) {
      return new Answer(400, "invalid cmdadd body: " + e.getMessage());
    }
    try {
      setup.addToMesh(add);
      LOG.log(Level.INFO, "pod {0}/{1} captured", add.podNamespace(), add.podName());
      return new Answer(200, null);
    } catch (Exception e) {
      if (e instanceof InterruptedException) {
        Thread.currentThread().interrupt();
      }
      String why = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
      LOG.log(Level.WARNING, "pod {0}/{1} setup failed: {2}", add.podNamespace(), add.podName(), why);
      return new Answer(500, "failed to add pod " + add.podNamespace() + "/" + add.podName() + " to the mesh: " + why);
    }
  }

  private void respond(OutputStream out, int status, String message) throws IOException {
    responses.computeIfAbsent(status, k -> new AtomicLong()).incrementAndGet();
    byte[] body = message.getBytes(StandardCharsets.UTF_8);
    String head = "HTTP/1.1 " + status + " " + reason(status) + "\r\n"
        + "Content-Type: text/plain; charset=utf-8\r\n"
        + "Content-Length: " + body.length + "\r\n"
        + "Connection: close\r\n\r\n";
    out.write(head.getBytes(StandardCharsets.ISO_8859_1));
    out.write(body);
    out.flush();
  }

  private static String reason(int status) {
    return switch (status) {
      case 200 -> "OK";
      case 400 -> "Bad Request";
      case 404 -> "Not Found";
      case 405 -> "Method Not Allowed";
      case 413 -> "Payload Too Large";
      case 431 -> "Request Header Fields Too Large";
      case 501 -> "Not Implemented";
      case 503 -> "Service Unavailable";
      default -> "Internal Server Error";
    };
  }

  @Override
  public synchronized void close() throws IOException {
    ServerSocketChannel ch = server;
    server = null;
    if (ch != null) {
      ch.close();
      Thread t = acceptor;
      if (t != null) {
        try {
          t.join(2000);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
      Files.deleteIfExists(socket);
    }
  }
}
