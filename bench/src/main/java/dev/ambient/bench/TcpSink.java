package dev.ambient.bench;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;

/**
 * Discard server: accepts connections on 127.0.0.1, reads until EOF counting bytes, then writes the
 * count back as one 8-byte big-endian long and closes. One platform thread per connection with a
 * reused 1 MiB direct buffer, blocking NIO: cheap enough not to be the bottleneck.
 *
 * <p>Usage: {@code TcpSink [port]} (0 or absent: ephemeral). Prints {@code READY <port>} once bound.
 */
public final class TcpSink {
  private TcpSink() {}

  public static void main(String[] args) throws IOException {
    int port = args.length > 0 ? Integer.parseInt(args[0]) : 0;
    ServerSocketChannel server = ServerSocketChannel.open();
    server.bind(new InetSocketAddress("127.0.0.1", port), 128);
    System.out.println("READY " + ((InetSocketAddress) server.getLocalAddress()).getPort());
    System.out.flush();
    while (true) {
      SocketChannel ch = server.accept();
      Thread t = new Thread(() -> serve(ch), "sink-conn");
      t.setDaemon(true);
      t.start();
    }
  }

  static void serve(SocketChannel ch) {
    try (ch) {
      ch.setOption(StandardSocketOptions.TCP_NODELAY, true);
      ByteBuffer buf = ByteBuffer.allocateDirect(1 << 20);
      long total = 0;
      while (true) {
        buf.clear();
        int n = ch.read(buf);
        if (n < 0) {
          break;
        }
        total += n;
      }
      ByteBuffer count = ByteBuffer.allocate(8).putLong(total).flip();
      while (count.hasRemaining()) {
        ch.write(count);
      }
      ch.shutdownOutput();
    } catch (IOException e) {
      System.err.println("sink: connection failed: " + e);
    }
  }
}
