package dev.ambient.ztunnel.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ambient.net.Transport;
import dev.ambient.testing.LeakDetectionExtension;
import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

/** {@link TcpRelay} between two real TCP channels: backpressure, half-close and resets. */
@ExtendWith(LeakDetectionExtension.class)
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class TcpRelayTest {
  private static final Transport TRANSPORT = Transport.defaultTransport();
  private static final String FRONT_IP = "127.0.0.5";
  private static final String BACK_IP = "127.0.0.6";

  private final EventLoopGroup group = TRANSPORT.newEventLoopGroup(2, "tcp-relay-test");
  private final CompletableFuture<TcpRelay> relay = new CompletableFuture<>();
  private final CompletableFuture<Channel> backChild = new CompletableFuture<>();
  private Channel back;
  private Channel front;

  @AfterEach
  void stop() {
    if (front != null) {
      front.close().syncUninterruptibly();
    }
    if (back != null) {
      back.close().syncUninterruptibly();
    }
    group.shutdownGracefully(100, 1_000, TimeUnit.MILLISECONDS).syncUninterruptibly();
  }

  private static InetSocketAddress address(Channel ch) {
    return (InetSocketAddress) ch.localAddress();
  }

  /** A back server that never reads, and a front listener relaying each connection to it. */
  private InetSocketAddress start() {
    back = new ServerBootstrap().group(group).channel(TRANSPORT.serverSocketChannel())
        .childOption(ChannelOption.AUTO_READ, false)
        .childHandler(new ChannelInitializer<Channel>() {
          @Override
          protected void initChannel(Channel ch) {
            backChild.complete(ch);
          }
        })
        .bind(new InetSocketAddress(BACK_IP, 0)).syncUninterruptibly().channel();
    return start(address(back));
  }

  /** A front listener relaying each connection to {@code backAddress}. */
  private InetSocketAddress start(InetSocketAddress backAddress) {
    front = new ServerBootstrap().group(group).channel(TRANSPORT.serverSocketChannel())
        .childOption(ChannelOption.AUTO_READ, false)
        .childOption(ChannelOption.ALLOW_HALF_CLOSURE, true)
        .childHandler(new ChannelInitializer<Channel>() {
          @Override
          protected void initChannel(Channel client) {
            client.pipeline().addLast(new ChannelInboundHandlerAdapter() {
              @Override
              public void channelActive(ChannelHandlerContext ctx) {
                new Bootstrap().group(client.eventLoop()).channel(TRANSPORT.socketChannel())
                    .option(ChannelOption.AUTO_READ, false)
                    .option(ChannelOption.ALLOW_HALF_CLOSURE, true)
                    .handler(new ChannelInboundHandlerAdapter())
                    .connect(backAddress).addListener(f -> {
                      Channel up = ((io.netty.channel.ChannelFuture) f).channel();
                      relay.complete(TcpRelay.start(client, up));
                    });
              }
            });
          }
        })
        .bind(new InetSocketAddress(FRONT_IP, 0)).syncUninterruptibly().channel();
    return address(front);
  }

  @Test
  void stalledReceiver_stopsReadingFromTheSender() throws Exception {
    InetSocketAddress in = start();
    long total = 256L << 20;
    try (Socket s = new Socket(in.getAddress(), in.getPort())) {
      CompletableFuture<Long> writer = CompletableFuture.supplyAsync(() -> {
        long written = 0;
        byte[] chunk = new byte[64 << 10];
        try {
          OutputStream out = s.getOutputStream();
          while (written < total) {
            out.write(chunk);
            written += chunk.length;
          }
        } catch (IOException closed) {
          // the test closes the socket while this is blocked
        }
        return written;
      });
      TcpRelay r = relay.get(5, TimeUnit.SECONDS);
      Thread.sleep(1_000);
      long first = r.bytesAToB();
      Thread.sleep(500);
      long second = r.bytesAToB();
      assertThat(second).as("relay stopped reading: nothing more moved").isEqualTo(first);
      assertThat(second).as("bounded by socket buffers, not by the sender").isLessThan(64L << 20);
      assertThat(writer).isNotDone();
      s.close();
      writer.get(10, TimeUnit.SECONDS);
      // The relay still waits for the stalled receiver (the client's FIN is behind unread data):
      // the receiver going away ends it, with its loops still running (a write may be in flight).
      backChild.get(5, TimeUnit.SECONDS).close();
      assertThat(r.completion().get(5, TimeUnit.SECONDS).clean()).isFalse();
    }
  }

  @Test
  void resetOfOneSide_resetsTheOther_andCompletesUnclean() throws Exception {
    InetSocketAddress in = start();
    try (Socket s = new Socket(in.getAddress(), in.getPort())) {
      s.setSoTimeout(10_000);
      TcpRelay r = relay.get(5, TimeUnit.SECONDS);
      Channel b = backChild.get(5, TimeUnit.SECONDS);
      b.eventLoop().submit(() -> {
        b.config().setOption(ChannelOption.SO_LINGER, 0);
        b.close();
      }).syncUninterruptibly();
      TcpRelay.Result result = r.completion().get(5, TimeUnit.SECONDS);
      assertThat(result.clean()).isFalse();
      int read;
      try {
        read = s.getInputStream().read();
      } catch (IOException reset) {
        read = -1;
      }
      assertThat(read).isEqualTo(-1);
    }
  }

  @Test
  void halfClose_otherDirectionKeepsFlowing_andCompletesCleanWithCounts() throws Exception {
    try (ServerSocket backSocket = new ServerSocket(0, 1, java.net.InetAddress.getByName(BACK_IP))) {
      InetSocketAddress in = start((InetSocketAddress) backSocket.getLocalSocketAddress());
      try (Socket s = new Socket(in.getAddress(), in.getPort())) {
        s.setSoTimeout(10_000);
        s.getOutputStream().write("request".getBytes(StandardCharsets.US_ASCII));
        s.shutdownOutput();
        try (Socket up = backSocket.accept()) {
          up.setSoTimeout(10_000);
          assertThat(new String(up.getInputStream().readAllBytes(), StandardCharsets.US_ASCII))
              .as("bytes, then the FIN").isEqualTo("request");
          up.getOutputStream().write("late answer".getBytes(StandardCharsets.US_ASCII));
        }
        assertThat(new String(s.getInputStream().readAllBytes(), StandardCharsets.US_ASCII)).isEqualTo("late answer");
      }
      TcpRelay.Result result = relay.get(5, TimeUnit.SECONDS).completion().get(5, TimeUnit.SECONDS);
      assertThat(result.clean()).isTrue();
      assertThat(result.cause()).isNull();
      assertThat(result.bytesAToB()).isEqualTo(7);
      assertThat(result.bytesBToA()).isEqualTo(11);
    }
  }

  @Test
  void abort_withCause_resetsBothSides_andReportsTheCause() throws Exception {
    InetSocketAddress in = start();
    try (Socket s = new Socket(in.getAddress(), in.getPort())) {
      s.setSoTimeout(10_000);
      TcpRelay r = relay.get(5, TimeUnit.SECONDS);
      IllegalStateException why = new IllegalStateException("policy revoked");
      r.abort(why);
      TcpRelay.Result result = r.completion().get(5, TimeUnit.SECONDS);
      assertThat(result.clean()).isFalse();
      assertThat(result.cause()).isSameAs(why);
      assertThatThrownBy(() -> s.getInputStream().read()).as("the client sees an RST, not a FIN")
          .isInstanceOf(java.net.SocketException.class).hasMessageContaining("reset");
    }
  }
}
