package dev.ambient.ztunnel.proxy.inbound;

import static java.util.Objects.requireNonNull;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.DuplexChannel;
import io.netty.util.ReferenceCountUtil;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import org.jspecify.annotations.Nullable;

/**
 * Bidirectional copy between two TCP channels (the plaintext inbound path, spec §5.0 "byte
 * copying"). hbone's {@code Relay} only joins TCP to an HTTP/2 stream, hence this splice.
 *
 * <p>Both channels must have {@code AUTO_READ} off and half-closure allowed. One side is read only
 * while the other is writable (backpressure). A FIN from one side shuts down the other side's
 * output once everything before it was flushed; the other direction keeps flowing; when both
 * directions have ended, both channels are closed. An error or a close without FIN on either side
 * resets both ({@code SO_LINGER 0}). Buffers are handed from one side's read to the other's write,
 * which releases them.
 */
final class TcpRelay {
  /** How a relay ended, with the byte counts. */
  record Result(long bytesAToB, long bytesBToA, boolean clean, @Nullable Throwable cause) {}

  private static final int A_DONE = 1;
  private static final int B_DONE = 2;

  private final Channel a;
  private final Channel b;
  private final AtomicInteger done = new AtomicInteger();
  private final CompletableFuture<Result> completion = new CompletableFuture<>();
  private volatile long aToB;
  private volatile long bToA;
  private volatile boolean failed;
  private volatile @Nullable Throwable cause;

  private TcpRelay(Channel a, Channel b) {
    this.a = a;
    this.b = b;
  }

  /** Starts copying between {@code a} and {@code b}; both must be connected. */
  static TcpRelay start(Channel a, Channel b) {
    requireNonNull(a, "a");
    requireNonNull(b, "b");
    TcpRelay relay = new TcpRelay(a, b);
    CompletableFuture<Void> aClosed = new CompletableFuture<>();
    CompletableFuture<Void> bClosed = new CompletableFuture<>();
    a.closeFuture().addListener(f -> aClosed.complete(null));
    b.closeFuture().addListener(f -> bClosed.complete(null));
    CompletableFuture.allOf(aClosed, bClosed).whenComplete((v, t) -> relay.completion.complete(
        new Result(relay.aToB, relay.bToA, !relay.failed, relay.cause)));
    a.pipeline().addLast("tcp-relay", relay.new Side(a, b, true));
    b.pipeline().addLast("tcp-relay", relay.new Side(b, a, false));
    return relay;
  }

  /** Completes when both channels are closed. */
  CompletableFuture<Result> completion() {
    return completion;
  }

  long bytesAToB() {
    return aToB;
  }

  long bytesBToA() {
    return bToA;
  }

  /** Resets both sides (policy revoked, drain deadline). */
  void reset(@Nullable Throwable why) {
    if (!failed) {
      failed = true;
      cause = why;
    }
    InboundProxy.reset(a);
    InboundProxy.reset(b);
  }

  private void finished(int bit) {
    if (done.accumulateAndGet(bit, (x, y) -> x | y) == (A_DONE | B_DONE)) {
      a.close();
      b.close();
    }
  }

  /** Reads from {@code self}, writes to {@code other}. */
  private final class Side extends ChannelInboundHandlerAdapter {
    private final Channel self;
    private final Channel other;
    private final boolean isA;
    private boolean inputShutdown;

    Side(Channel self, Channel other, boolean isA) {
      this.self = self;
      this.other = other;
      this.isA = isA;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
      if (self.isActive()) {
        ctx.read();
      } else {
        reset(new IllegalStateException("channel closed before the relay started"));
      }
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      if (!(msg instanceof ByteBuf buf)) {
        ReferenceCountUtil.release(msg);
        return;
      }
      int n = buf.readableBytes();
      if (n == 0 || !other.isActive()) {
        buf.release();
        return;
      }
      if (isA) {
        aToB += n;
      } else {
        bToA += n;
      }
      other.write(buf, other.voidPromise());
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
      other.flush();
      if (other.isWritable()) {
        readSelf();
      }
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
      if (self.isWritable()) {
        // The other side's reads were paused waiting for us.
        other.eventLoop().execute(() -> {
          Side peer = (Side) other.pipeline().get("tcp-relay");
          if (peer != null) {
            peer.readSelf();
          }
        });
      }
      ctx.fireChannelWritabilityChanged();
    }

    /** Reads more, unless input already ended (epoll must not be read after FIN). On self's loop. */
    void readSelf() {
      if (!inputShutdown && self.isActive()) {
        self.read();
      }
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
      if (evt instanceof ChannelInputShutdownEvent) {
        inputShutdown = true;
        other.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener((ChannelFutureListener) f -> {
          if (f.isSuccess() && other instanceof DuplexChannel d) {
            d.shutdownOutput().addListener(s -> finished(isA ? A_DONE : B_DONE));
          }
        });
      }
      ReferenceCountUtil.release(evt);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable t) {
      reset(t);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
      if (done.get() != (A_DONE | B_DONE)) {
        reset(null);
      }
      ctx.fireChannelInactive();
    }
  }
}
