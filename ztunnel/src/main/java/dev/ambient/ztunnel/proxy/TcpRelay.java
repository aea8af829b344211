package dev.ambient.ztunnel.proxy;

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
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Bidirectional copy between two TCP channels (spec §5.0 "byte copying"): the plaintext inbound
 * path and the outbound plain-TCP routes. hbone's {@code Relay} only joins TCP to an HTTP/2 stream,
 * hence this splice.
 *
 * <ul>
 *   <li>One side is read only while the other is writable (backpressure both ways); both channels
 *       need {@code AUTO_READ} off ({@link #start} turns half-closure on).</li>
 *   <li>A FIN from one side shuts down the other side's output once everything before it was
 *       flushed; the other direction keeps flowing. Both FINs ⇒ both channels are closed.</li>
 *   <li>An error or a close without FIN on either side resets both ({@code SO_LINGER 0}).</li>
 *   <li>Input that arrived before the relay (bytes and even the FIN, held by a handler such as
 *       outbound's {@code EarlyInput}) may be replayed into the pipeline right after {@link #start},
 *       in the same event-loop task: a side whose input already ended is never read again.</li>
 * </ul>
 *
 * Buffers are handed from one side's read to the other's write, which releases them.
 */
public final class TcpRelay {
  private static final Logger log = LoggerFactory.getLogger(TcpRelay.class);
  private static final String NAME = "tcp-relay";
  private static final int A_DONE = 1;
  private static final int B_DONE = 2;

  /**
   * How a relay ended.
   *
   * @param clean both directions ended with FIN
   * @param cause the first error seen, or why {@link #abort} was called; null for a plain peer reset
   */
  public record Result(long bytesAToB, long bytesBToA, boolean clean, @Nullable Throwable cause) {}

  private final Side a;
  private final Side b;
  private final AtomicInteger done = new AtomicInteger();
  private final AtomicReference<@Nullable Throwable> cause = new AtomicReference<>();
  private final CompletableFuture<Result> completion = new CompletableFuture<>();
  private volatile boolean failed;

  private TcpRelay(Channel a, Channel b) {
    this.a = new Side(a, A_DONE);
    this.b = new Side(b, B_DONE);
    this.a.peer = this.b;
    this.b.peer = this.a;
  }

  /**
   * Starts copying between {@code a} and {@code b}; both must be connected {@link DuplexChannel}s
   * with {@code AUTO_READ} off. Any thread; on {@code a}'s loop its handler is added synchronously.
   */
  public static TcpRelay start(Channel a, Channel b) {
    requireNonNull(a, "a");
    requireNonNull(b, "b");
    if (!(a instanceof DuplexChannel) || !(b instanceof DuplexChannel)) {
      throw new IllegalArgumentException("both sides must be DuplexChannels");
    }
    TcpRelay relay = new TcpRelay(a, b);
    AtomicInteger open = new AtomicInteger(2);
    ChannelFutureListener closed = f -> {
      if (open.decrementAndGet() == 0) {
        relay.completion.complete(new Result(relay.a.bytes, relay.b.bytes, !relay.failed, relay.cause.get()));
      }
    };
    a.closeFuture().addListener(closed);
    b.closeFuture().addListener(closed);
    for (Side s : new Side[] {relay.a, relay.b}) {
      s.channel.config().setOption(ChannelOption.ALLOW_HALF_CLOSURE, true);
      runOn(s.channel, () -> s.channel.pipeline().addLast(NAME, s));
    }
    return relay;
  }

  /** Completes when both channels are closed. */
  public CompletableFuture<Result> completion() {
    return completion;
  }

  public long bytesAToB() {
    return a.bytes;
  }

  public long bytesBToA() {
    return b.bytes;
  }

  /** Resets both sides (policy revoked, drain deadline); {@code why} becomes the result's cause. */
  public void abort(@Nullable Throwable why) {
    fail(why);
    reset(a.channel);
    reset(b.channel);
  }

  private void fail(@Nullable Throwable why) {
    failed = true;
    if (why != null) {
      cause.compareAndSet(null, why);
    }
  }

  /** Closes {@code ch} with RST ({@code SO_LINGER 0}) so its peer sees the failure. Any thread. */
  public static void reset(Channel ch) {
    runOn(ch, () -> {
      if (ch.isOpen()) {
        try {
          ch.config().setOption(ChannelOption.SO_LINGER, 0);
        } catch (RuntimeException e) {
          log.debug("could not set SO_LINGER 0 on {}", ch, e); // a plain close still ends it
        }
        ch.close();
      }
    });
  }

  private static void runOn(Channel ch, Runnable task) {
    if (ch.eventLoop().inEventLoop()) {
      task.run();
    } else {
      ch.eventLoop().execute(task);
    }
  }

  private void markDone(int bit) {
    if (done.accumulateAndGet(bit, (x, y) -> x | y) == (A_DONE | B_DONE)) {
      a.channel.close();
      b.channel.close();
    }
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

    /** {@link #readOnLoop} as a task, made once: asking for the next read allocates nothing. */
    private final Runnable readTask = this::readOnLoop;

    /** Reads more unless the input has ended (never read after FIN: epoll drops the fd then). */
    void readMore() {
      if (channel.eventLoop().inEventLoop()) {
        readOnLoop();
      } else {
        channel.eventLoop().execute(readTask);
      }
    }

    private void readOnLoop() {
      if (!inputShutdown && channel.isActive()) {
        channel.read();
      }
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
      if (((DuplexChannel) channel).isInputShutdown()) {
        inputShutdown = true; // FIN already seen; its event is replayed by whoever held it
      } else if (channel.isActive()) {
        ctx.read();
      } else {
        abort(new IllegalStateException("connection closed before the relay started"));
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
        peer().readMore(); // the peer's reads were paused waiting for us
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
      log.debug("relay side {} failed: {}", channel, t.toString());
      abort(t);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
      if (done.get() != (A_DONE | B_DONE)) {
        // Gone without both FINs (a reset, or a local close): the other side cannot finish cleanly.
        abort(null);
      }
      ctx.fireChannelInactive();
    }
  }
}
