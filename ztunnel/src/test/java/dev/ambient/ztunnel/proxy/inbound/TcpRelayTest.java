package dev.ambient.ztunnel.proxy.inbound;

import static dev.ambient.ztunnel.proxy.inbound.InboundHarness.TRANSPORT;
import static dev.ambient.ztunnel.proxy.inbound.InboundHarness.address;
import static org.assertj.core.api.Assertions.assertThat;

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
import java.net.Socket;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

/** {@link TcpRelay} between two real TCP channels: backpressure and resets. */
@ExtendWith(LeakDetectionExtension.class)
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class TcpRelayTest {
  private static final String FRONT_IP = "127.0.0.5";
  private static final String BACK_IP = "127.0.0.6";

  private final EventLoopGroup group = TRANSPORT.newEventLoopGroup(2, "tcp-relay-test");
  private final CompletableFuture<TcpRelay> relay = new CompletableFuture<>();
  private final AtomicReference<Channel> backChild = new AtomicReference<>();
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
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
  }

  /** A back server that never reads, and a front listener relaying each connection to it. */
  private InetSocketAddress start() {
    back = new ServerBootstrap().group(group).channel(TRANSPORT.serverSocketChannel())
        .childOption(ChannelOption.AUTO_READ, false)
        .childHandler(new ChannelInitializer<Channel>() {
          @Override
          protected void initChannel(Channel ch) {
            backChild.set(ch);
          }
        })
        .bind(new InetSocketAddress(BACK_IP, 0)).syncUninterruptibly().channel();
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
                    .connect(address(back)).addListener(f -> {
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
    }
  }

  @Test
  void resetOfOneSide_resetsTheOther_andCompletesUnclean() throws Exception {
    InetSocketAddress in = start();
    try (Socket s = new Socket(in.getAddress(), in.getPort())) {
      s.setSoTimeout(10_000);
      TcpRelay r = relay.get(5, TimeUnit.SECONDS);
      Channel b = backChild.get();
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
}
