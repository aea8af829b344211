package dev.ambient.bench;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Load source: connects to {@code host:port}, writes {@code bytes} bytes from one reused direct
 * buffer as fast as the socket takes them, half-closes, waits for the sink's 8-byte count and prints
 * one JSON line: {@code {"bytes":..,"seconds":..,"gbps":..,"cpu_seconds":..}} (the last: this
 * process's CPU time, for the orchestrator's accounting of outside load). Fails (exit 1) when the sink counted
 * a different number of bytes. The clock starts after the connect and stops when the count arrived,
 * so the time covers every byte reaching the sink.
 *
 * <p>Usage: {@code TcpSource <host> <port> <bytes> [bufferBytes]}.
 */
public final class TcpSource {
  private TcpSource() {}

  public static void main(String[] args) throws IOException {
    if (args.length < 3) {
      System.err.println("usage: TcpSource <host> <port> <bytes> [bufferBytes]");
      System.exit(2);
    }
    InetSocketAddress target = new InetSocketAddress(args[0], Integer.parseInt(args[1]));
    long bytes = Long.parseLong(args[2]);
    int bufSize = args.length > 3 ? Integer.parseInt(args[3]) : 1 << 20;
    ByteBuffer buf = ByteBuffer.allocateDirect(bufSize);
    byte[] noise = new byte[bufSize];
    ThreadLocalRandom.current().nextBytes(noise); // not compressible; TLS does not compress anyway
    buf.put(noise).flip();

    try (SocketChannel ch = SocketChannel.open()) {
      ch.setOption(StandardSocketOptions.TCP_NODELAY, true);
      ch.connect(target);
      long start = System.nanoTime();
      long left = bytes;
      while (left > 0) {
        buf.clear();
        if (left < bufSize) {
          buf.limit((int) left);
        }
        while (buf.hasRemaining()) {
          left -= ch.write(buf);
        }
      }
      ch.shutdownOutput();
      ByteBuffer count = ByteBuffer.allocate(8);
      while (count.hasRemaining()) {
        if (ch.read(count) < 0) {
          throw new IOException("connection closed before the sink's count arrived (" + count.position() + "/8 bytes)");
        }
      }
      long end = System.nanoTime();
      long received = count.flip().getLong();
      if (received != bytes) {
        throw new IOException("sink counted " + received + " bytes, sent " + bytes);
      }
      double seconds = (end - start) / 1e9;
      double gbps = bytes * 8 / seconds / 1e9;
      double cpu = ((com.sun.management.OperatingSystemMXBean)
          java.lang.management.ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime() / 1e9;
      System.out.printf(java.util.Locale.ROOT, "{\"bytes\":%d,\"seconds\":%.6f,\"gbps\":%.4f,\"cpu_seconds\":%.3f}%n",
          bytes, seconds, gbps, cpu);
    }
  }
}
