package dev.ambient.bench.jmh;

import dev.ambient.bench.BenchCerts;
import dev.ambient.bench.TunnelExit;
import dev.ambient.hbone.Authority;
import dev.ambient.hbone.HboneClient;
import dev.ambient.hbone.HboneConnectRequest;
import dev.ambient.hbone.HboneStream;
import dev.ambient.identity.HboneTls;
import dev.ambient.net.Transport;
import io.netty.handler.codec.http2.DefaultHttp2DataFrame;
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * Opening an HBONE stream on a warm pooled connection and closing it: {@link HboneClient#open} up to
 * the server's 200 (which the server sends after its upstream TCP connect to a local discard server
 * succeeded), then a graceful end (END_STREAM both ways, the stream closes). In-process over loopback; client and
 * server have one event loop each. Score: time per open+close.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class HboneStreamOpenBenchmark {
  private LoopbackFixtures.Discard upstream;
  private TunnelExit exit;
  private io.netty.channel.EventLoopGroup clientGroup;
  private HboneClient client;
  private HboneConnectRequest request;

  @Setup(Level.Trial)
  public void setup() throws Exception {
    Transport transport = Transport.defaultTransport();
    HboneTls[] tls = BenchCerts.inMemory();
    upstream = new LoopbackFixtures.Discard(transport);
    exit = new TunnelExit(tls[0], transport, 1, new InetSocketAddress("127.0.0.1", 0));
    clientGroup = transport.newEventLoopGroup(1, "jmh-hbone-client");
    client = HboneClient.builder().transport(transport).eventLoopGroup(clientGroup).build();
    request = HboneConnectRequest.of(tls[1], BenchCerts.SERVER_ID, exit.localAddress(),
        Authority.of(upstream.address()));
    openAndClose(); // the pooled connection is now up
    if (client.connectionCount() != 1) {
      throw new IllegalStateException("expected one pooled connection, have " + client.connectionCount());
    }
  }

  @Benchmark
  public HboneStream openAndClose() throws Exception {
    HboneStream stream = client.open(request).get(10, TimeUnit.SECONDS);
    // Graceful end, as a finished tunnel ends: END_STREAM out; the server half-closes the upstream,
    // which closes, and the server's END_STREAM closes the stream. (Closing the stream channel
    // instead sends RST_STREAM, and Netty's rapid-reset guard on the server drops the whole
    // connection after 200 resets in 30 s; see docs/performance.md.)
    stream.channel().writeAndFlush(new DefaultHttp2DataFrame(true));
    stream.channel().config().setAutoRead(true);
    if (!stream.channel().closeFuture().await(10, TimeUnit.SECONDS)) {
      throw new IllegalStateException("stream did not close after END_STREAM both ways: " + stream.channel());
    }
    return stream;
  }

  @TearDown(Level.Trial)
  public void tearDown() {
    int conns = client.connectionCount();
    client.close();
    clientGroup.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    exit.close();
    upstream.close();
    if (conns != 1) {
      throw new IllegalStateException("the benchmark used " + conns + " connections, expected one warm connection");
    }
  }
}
