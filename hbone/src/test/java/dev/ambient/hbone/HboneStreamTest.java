package dev.ambient.hbone;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.assertj.core.api.Assertions.assertThat;

import dev.ambient.identity.HboneTls;
import dev.ambient.identity.SpiffeId;
import dev.ambient.identity.TlsOptions;
import dev.ambient.identity.TrustBundle;
import dev.ambient.identity.WorkloadCertificate;
import dev.ambient.net.Transport;
import dev.ambient.testing.IssuedCertificate;
import dev.ambient.testing.LeakDetectionExtension;
import dev.ambient.testing.TestCa;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http2.DefaultHttp2DataFrame;
import io.netty.handler.codec.http2.Http2DataFrame;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.util.ReferenceCountUtil;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

/** Driving an {@link HboneStream} directly, and closing a client with an unrelayed stream. */
@ExtendWith(LeakDetectionExtension.class)
@Timeout(30)
class HboneStreamTest {
  private static final int FRAMES = 64;
  private static final int FRAME = 16 * 1024;

  /** A handler attached to the stream gets every DATA frame, including those that came with the 200. */
  @Test
  void attach_driveStreamDirectly_receivesTheWholeEcho() throws Exception {
    try (Fixture f = new Fixture()) {
      HboneStream stream = f.open();
      CompletableFuture<Long> done = readAll(stream);
      writePayload(stream.channel());
      assertThat(done.get(5, SECONDS)).isEqualTo((long) FRAMES * FRAME);
      stream.channel().close().sync();
    }
  }

  /** Closing the client closes an open stream nobody read, releasing its queued DATA (the extension checks). */
  @Test
  void clientClose_withAnOpenUnrelayedStream_releasesItsBufferedFrames() throws Exception {
    try (Fixture f = new Fixture()) {
      HboneStream stream = f.open();
      writePayload(stream.channel());
      Thread.sleep(2000); // let the echo arrive and queue on the stream
    } // the client and server close here; the extension then checks for leaks
  }

  private static void writePayload(Http2StreamChannel ch) {
    ch.eventLoop().execute(() -> {
      for (int i = 0; i < FRAMES; i++) {
        ch.write(new DefaultHttp2DataFrame(Unpooled.wrappedBuffer(new byte[FRAME]), i == FRAMES - 1));
      }
      ch.flush();
    });
  }

  private static CompletableFuture<Long> readAll(HboneStream stream) {
    CompletableFuture<Long> done = new CompletableFuture<>();
    stream.attach(new ChannelInboundHandlerAdapter() {
      long n;

      @Override
      public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof Http2DataFrame d) {
          n += d.content().readableBytes();
          if (d.isEndStream()) {
            done.complete(n);
          }
        }
        ReferenceCountUtil.release(msg);
      }

      @Override
      public void channelReadComplete(ChannelHandlerContext ctx) {
        ctx.read();
      }
    });
    return done;
  }

  /** An HboneServer relaying to a blocking TCP echo server, and an HboneClient. */
  private static final class Fixture implements AutoCloseable {
    final ServerSocket echo = new ServerSocket(0, 5, InetAddress.getLoopbackAddress());
    final HboneServer server;
    final HboneClient client = HboneClient.builder().build();
    final HboneTls clientTls;

    Fixture() throws IOException {
      TestCa ca = TestCa.create("cluster.local");
      HboneTls serverTls = tls(ca.issue("spiffe://cluster.local/ns/a/sa/server"));
      clientTls = tls(ca.issue("spiffe://cluster.local/ns/a/sa/client"));
      Thread.ofPlatform().daemon().start(() -> {
        try (Socket s = echo.accept()) {
          s.getInputStream().transferTo(s.getOutputStream());
          s.shutdownOutput();
          s.getInputStream().read();
        } catch (IOException e) {
          // closed
        }
      });
      InetSocketAddress upstream = new InetSocketAddress(InetAddress.getLoopbackAddress(), echo.getLocalPort());
      server = HboneServer.builder().tls(serverTls)
          .handler(r -> CompletableFuture.completedFuture(HboneDecision.accept(
              UpstreamConnector.tcp(upstream, Transport.defaultTransport(), Duration.ofSeconds(5)))))
          .start();
    }

    HboneStream open() throws Exception {
      return client.open(HboneConnectRequest.of(clientTls, SpiffeId.parse("spiffe://cluster.local/ns/a/sa/server"),
          server.localAddress(), Authority.parse("127.0.0.1:" + echo.getLocalPort()).orElseThrow())).get(10, SECONDS);
    }

    private static HboneTls tls(IssuedCertificate c) {
      return HboneTls.create(
          WorkloadCertificate.of(c.privateKey(), c.leaf(), c.intermediates(), TrustBundle.of(c.root())), TlsOptions.DEFAULT);
    }

    @Override
    public void close() throws IOException {
      client.close();
      server.close();
      echo.close();
    }
  }
}
