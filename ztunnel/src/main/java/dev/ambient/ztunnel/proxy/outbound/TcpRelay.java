package dev.ambient.ztunnel.proxy.outbound;

import static java.util.Objects.requireNonNull;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.DuplexChannel;
import io.netty.util.ReferenceCountUtil;
import java.io.IOException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Bidirectional copy between two TCP channels (the application's and the upstream's), for the
 * plain-TCP routes. Both channels must have {@code AUTO_READ} off and half-closure allowed.
 *
 * <ul>
 *   <li>One side reads only while the other side is writable (back-pressure both ways).</li>
 *   <li>FIN on one side ⇒ the other side's output is shut down once everything before it was
 *       written; the other direction continues. Both FINs ⇒ both channels are closed.</li>
 *   <li>A reset or error on one side ⇒ the other side is reset (SO_LINGER 0).</li>
 * </ul>
 * Buffers read from one side are handed to the other side's write, which releases them.
 */
final class TcpRelay {
  private static final Logger log = LoggerFactory.getLogger(TcpRelay.class);
  private static final int CLIENT_DONE = 1;
  private static final int SERVER_DONE = 2;

  /**
   * How the relay ended.
   *
   * @param error null when both directions ended with FIN or a side was reset by its peer (resets
   *     during copying are not errors, spec §5.0)
   */
  record Result(long clientToServer, long serverToClient, @Nullable Throwable error) {}

  private final Side client;
  private final Side server;
  private final AtomicInteger done = new AtomicInteger();
  private final AtomicReference<@Nullable Throwable> error = new AtomicReference<>();
  private final CompletableFuture<Result> completion = new CompletableFuture<>();

  private TcpRelay(Channel clientChannel, Channel serverChannel) {
    this.client = new Side(clientChannel, CLIENT_DONE);
    this.server = new Side(serverChannel, SERVER_DONE);
    client.peer = server;
    server.peer = client;
  }

  /** Starts relaying between {@code client} and {@code server}. Any thread. */
  static TcpRelay start(Channel client, Channel server) {
    requireNonNull(client, "client");
    requireNonNull(server, "server");
    if (!(client instanceof DuplexChannel) || !(server instanceof DuplexChannel)) {
      throw new IllegalArgumentException("both sides must be DuplexChannels");
    }
    TcpRelay relay = new TcpRelay(client, server);
    AtomicInteger open = new AtomicInteger(2);
    ChannelFutureListener closed = f -> {
      if (open.decrementAndGet() == 0) {
        relay.completion.complete(new Result(relay.client.bytes, relay.server.bytes, relay.error.get()));
      }
    };
    client.closeFuture().addListener(closed);
    server.closeFuture().addListener(closed);
    for (Side s : new Side[] {relay.client, relay.server}) {
      s.channel.config().setOption(ChannelOption.ALLOW_HALF_CLOSURE, true);
      runOn(s.channel, () -> s.channel.pipeline().addLast("tcp-relay", s));
    }
    return relay;
  }

  CompletableFuture<Result> completion() {
    return completion;
  }

  private static void runOn(Channel ch, Runnable task) {
    if (ch.eventLoop().inEventLoop()) {
      task.run();
    } else {
      ch.eventLoop().execute(task);
    }
  }

  private void markDone(int bit) {
    if (done.accumulateAndGet(bit, (a, b) -> a | b) == (CLIENT_DONE | SERVER_DONE)) {
      client.channel.close();
      server.channel.close();
    }
  }

  private static void reset(Channel ch) {
    runOn(ch, () -> {
      if (ch.isOpen()) {
        try {
          ch.config().setOption(ChannelOption.SO_LINGER, 0);
        } catch (RuntimeException e) {
          log.debug("could not set SO_LINGER 0 on {}", ch, e);
        }
        ch.close();
      }
    });
  }

  /** Reads one channel and writes into its peer. */
  private final class Side extends ChannelInboundHandlerAdapter {
    final Channel channel;
    final int doneBit;
    @Nullable Side peer;
    /** Bytes read from this side; written on this side's loop only. */
    volatile long bytes;
    /** FIN seen; touched on this side's loop only. */
    private boolean inputShutdown;

    Side(Channel channel, int doneBit) {
      this.channel = channel;
      this.doneBit = doneBit;
    }

    private Side peer() {
      return requireNonNull(peer);
    }

    /** Reads more unless the input has ended (never read after FIN: epoll drops the fd then). */
    void readMore() {
      runOn(channel, () -> {
        if (!inputShutdown && channel.isActive()) {
          channel.read();
        }
      });
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
      if (((DuplexChannel) channel).isInputShutdown()) {
        inputShutdown = true; // FIN already seen; its event is replayed by EarlyInput
      } else if (channel.isActive()) {
        ctx.read();
      } else {
        error.compareAndSet(null, new IOException("connection closed before the relay started"));
        reset(peer().channel);
      }
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      if (!(msg instanceof ByteBuf buf)) {
        ReferenceCountUtil.release(msg);
        return;
      }
      int n = buf.readableBytes();
      Channel out = peer().channel;
      if (n == 0 || !out.isActive()) {
        buf.release();
        return;
      }
      bytes += n;
      out.write(buf, out.voidPromise());
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
      Channel out = peer().channel;
      out.flush();
      if (out.isWritable()) {
        readMore();
      }
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
      if (channel.isWritable()) {
        peer().readMore();
      }
      ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
      if (evt instanceof ChannelInputShutdownEvent) {
        inputShutdown = true;
        Channel out = peer().channel;
        out.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener((ChannelFutureListener) f -> {
          if (f.isSuccess()) {
            ((DuplexChannel) out).shutdownOutput().addListener(s -> markDone(doneBit));
          }
        });
      }
      ReferenceCountUtil.release(evt);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable t) {
      if (!(t instanceof IOException)) {
        error.compareAndSet(null, t);
      }
      log.debug("relay side {} failed: {}", channel, t.toString());
      reset(peer().channel);
      reset(channel);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
      if (done.get() != (CLIENT_DONE | SERVER_DONE)) {
        // Gone without both FINs (a reset, or a local close): the other side cannot finish cleanly.
        reset(peer().channel);
      }
      ctx.fireChannelInactive();
    }
  }
}
