package dev.ambient.bench.jmh;

import dev.ambient.bench.BenchCerts;
import dev.ambient.bench.TunnelEntry;
import dev.ambient.bench.TunnelExit;
import dev.ambient.identity.HboneTls;
import dev.ambient.net.Transport;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * Relay throughput through a whole HBONE tunnel in one process over loopback: a blocking socket
 * writes {@code chunk}-byte writes (TCP_NODELAY) into the tunnel entry (TCP listener + HboneClient +
 * Relay), across mutual TLS + HTTP/2 to the exit (HboneServer + Relay), into a discard server. Each
 * side has one event loop. One invocation writes 1 MiB in {@code chunk}-byte writes, so the score
 * (ops/s) is MiB/s; backpressure comes from the blocking socket, so the writer cannot run ahead by more
 * than the socket buffers plus the HTTP/2 windows. The trial ends by checking that the sink received
 * every byte.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
public class RelayThroughputBenchmark {
  private static final int BATCH = 1 << 20;

  @Param({"1024", "65536"})
  public int chunk;

  private LoopbackFixtures.Discard sink;
  private TunnelExit exit;
  private TunnelEntry entry;
  private SocketChannel source;
  private ByteBuffer buf;
  private long written;

  @Setup(Level.Trial)
  public void setup() throws IOException {
    Transport transport = Transport.defaultTransport();
    HboneTls[] tls = BenchCerts.inMemory();
    sink = new LoopbackFixtures.Discard(transport);
    exit = new TunnelExit(tls[0], transport, 1, new InetSocketAddress("127.0.0.1", 0));
    entry = new TunnelEntry(tls[1], transport, 1, new InetSocketAddress("127.0.0.1", 0),
        exit.localAddress(), BenchCerts.SERVER_ID, sink.address());
    source = SocketChannel.open();
    source.setOption(StandardSocketOptions.TCP_NODELAY, true);
    source.connect(entry.localAddress());
    byte[] data = new byte[chunk];
    ThreadLocalRandom.current().nextBytes(data);
    buf = ByteBuffer.allocateDirect(chunk).put(data).flip();
  }

  @Benchmark
  @OperationsPerInvocation(1)
  public long mebibyte() throws IOException {
    for (int sent = 0; sent < BATCH; sent += chunk) {
      buf.clear();
      while (buf.hasRemaining()) {
        source.write(buf);
      }
    }
    written += BATCH;
    return written;
  }

  @TearDown(Level.Trial)
  public void tearDown() throws Exception {
    try {
      source.shutdownOutput();
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      while (sink.received.sum() < written && System.nanoTime() < deadline) {
        Thread.sleep(10);
      }
      if (sink.received.sum() != written) {
        throw new IllegalStateException("sink received " + sink.received.sum() + " of " + written + " bytes");
      }
    } finally {
      source.close();
      entry.close();
      exit.close();
      sink.close();
    }
  }
}
