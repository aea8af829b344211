package dev.ambient.bench.jmh;

import dev.ambient.bench.BenchCerts;
import dev.ambient.identity.HboneTls;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.ssl.SslHandler;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * The TLS record path alone: one write of {@code size} bytes is encrypted by the client-side
 * {@link SslHandler} from {@link HboneTls} and decrypted by the server-side one, on a pair of
 * {@link EmbeddedChannel}s after a real (mutual TLS 1.3) handshake. No sockets, no HTTP/2.
 * Score: round trips (encrypt + decrypt of one write) per second.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
public class TlsRecordBenchmark {
  @Param({"1024", "16384"})
  public int size;

  private EmbeddedChannel client;
  private EmbeddedChannel server;
  private ByteBuf payload;
  private String cipher;

  @Setup(Level.Trial)
  public void setup() {
    HboneTls[] tls = BenchCerts.inMemory();
    server = new EmbeddedChannel();
    server.pipeline().addLast(tls[0].newServerHandler(server.alloc()));
    client = new EmbeddedChannel();
    client.pipeline().addLast(tls[1].newClientHandler(client.alloc(), List.of(BenchCerts.SERVER_ID)));
    SslHandler cs = client.pipeline().get(SslHandler.class);
    SslHandler ss = server.pipeline().get(SslHandler.class);
    for (int i = 0; i < 100 && !(cs.handshakeFuture().isDone() && ss.handshakeFuture().isDone()); i++) {
      pump();
    }
    pump(); // post-handshake messages (session tickets)
    if (!cs.handshakeFuture().isSuccess() || !ss.handshakeFuture().isSuccess()) {
      throw new IllegalStateException("handshake failed: client " + cs.handshakeFuture().cause()
          + ", server " + ss.handshakeFuture().cause());
    }
    cipher = cs.engine().getSession().getProtocol() + " " + cs.engine().getSession().getCipherSuite()
        + " (" + cs.engine().getClass().getSimpleName() + ", boringssl=" + tls[1].boringSsl() + ")";
    System.out.println("\nTLS record benchmark: " + cipher);
    byte[] data = new byte[size];
    ThreadLocalRandom.current().nextBytes(data);
    payload = PooledByteBufAllocator.DEFAULT.directBuffer(size).writeBytes(data);
  }

  private void pump() {
    boolean moved = true;
    while (moved) {
      moved = false;
      ByteBuf b;
      while ((b = client.readOutbound()) != null) {
        server.writeInbound(b);
        moved = true;
      }
      while ((b = server.readOutbound()) != null) {
        client.writeInbound(b);
        moved = true;
      }
      client.runPendingTasks();
      server.runPendingTasks();
    }
    drain(server);
    drain(client);
  }

  private static long drain(EmbeddedChannel ch) {
    long n = 0;
    Object m;
    while ((m = ch.readInbound()) != null) {
      if (m instanceof ByteBuf b) {
        n += b.readableBytes();
        b.release();
      }
    }
    return n;
  }

  @Benchmark
  public long encryptDecrypt() {
    client.writeOutbound(payload.retainedDuplicate());
    ByteBuf record;
    while ((record = client.readOutbound()) != null) {
      server.writeInbound(record);
    }
    long n = drain(server);
    if (n != size) {
      throw new IllegalStateException("decrypted " + n + " bytes, expected " + size);
    }
    return n;
  }

  @TearDown(Level.Trial)
  public void tearDown() {
    payload.release();
    client.finishAndReleaseAll();
    server.finishAndReleaseAll();
  }
}
