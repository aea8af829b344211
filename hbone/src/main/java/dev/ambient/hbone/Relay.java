package dev.ambient.hbone;

import static java.util.Objects.requireNonNull;

import dev.ambient.hbone.RelayResult.Outcome;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.DuplexChannel;
import io.netty.handler.codec.http2.DefaultHttp2DataFrame;
import io.netty.handler.codec.http2.DefaultHttp2ResetFrame;
import io.netty.handler.codec.http2.Http2DataFrame;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2ResetFrame;
import io.netty.util.ReferenceCountUtil;
import java.io.IOException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Bidirectional copy between a TCP channel and an HTTP/2 (HBONE) stream.
 *
 * <h2>Flow control</h2>
 * Both channels must have {@code AUTO_READ} off. The relay reads the next chunk from one side only
 * while the other side is writable, and asks again when writability returns. The HTTP/2 stream's
 * writability follows its flow-control window, so a slow TCP receiver on the far side slows the
 * sender here. Received DATA gives flow-control credit back when the relay reads it, i.e. only as
 * fast as the local TCP side takes it.
 *
 * <h2>Half-close and resets</h2>
 * <ul>
 *   <li>TCP FIN read ⇒ empty DATA frame with END_STREAM; END_STREAM read ⇒ the TCP output is shut
 *       down (FIN) once everything before it was written. The other direction keeps flowing.</li>
 *   <li>TCP reset or read error ⇒ {@code RST_STREAM(CONNECT_ERROR)} (RFC 9113 §8.5).</li>
 *   <li>{@code RST_STREAM} with {@code NO_ERROR} or {@code CANCEL} ⇒ end of stream: the TCP side
 *       is flushed and closed with a FIN. Any other error code ⇒ TCP reset (SO_LINGER 0).</li>
 *   <li>The stream closing without either (HTTP/2 connection lost) ⇒ TCP reset.</li>
 * </ul>
 * When both directions have ended the TCP channel is closed; the stream closes itself once both
 * END_STREAMs have been exchanged.
 *
 * <h2>Threading and buffers</h2>
 * The two channels may live on different event loops; each handler runs on its own channel's loop
 * and only touches the other channel through Netty's thread-safe channel operations. Counters have
 * one writer each. A buffer read from one side is handed to the other side's write, which releases
 * it; nothing is copied.
 */
public final class Relay {
  private static final Logger log = LoggerFactory.getLogger(Relay.class);

  static final String TCP_HANDLER = "hbone-relay-tcp";
  static final String STREAM_HANDLER = "hbone-relay-stream";

  private static final int TCP_INPUT_DONE = 1; // FIN read from TCP, END_STREAM sent
  private static final int STREAM_INPUT_DONE = 2; // END_STREAM read, TCP output shut down

  private final Channel tcp;
  private final Channel stream;
  private final AtomicInteger done = new AtomicInteger();
  private final AtomicReference<@Nullable Outcome> outcome = new AtomicReference<>();
  private final CompletableFuture<RelayResult> completion = new CompletableFuture<>();
  private volatile @Nullable Throwable cause;
  // Single writer each: fromTcp on the TCP loop, toTcp on the stream loop.
  private volatile long fromTcp;
  private volatile long toTcp;
  // Written and read on the TCP loop only.
  private boolean tcpInputShutdown;
  private final Runnable readTcpTask = this::readTcpOnLoop;

  private Relay(Channel tcp, Channel stream) {
    this.tcp = tcp;
    this.stream = stream;
  }

  /**
   * Starts relaying. {@code tcp} must be a {@link DuplexChannel} with half-closure allowed;
   * {@code stream} carries {@link Http2DataFrame}s (an {@code Http2StreamChannel}). Any frames the
   * stream's {@link HandoffHandler} held back are delivered first. Safe to call from any thread.
   */
  public static Relay start(Channel tcp, Channel stream) {
    requireNonNull(tcp, "tcp");
    requireNonNull(stream, "stream");
    if (!(tcp instanceof DuplexChannel)) {
      throw new IllegalArgumentException("the TCP side must be a DuplexChannel, got " + tcp.getClass().getName());
    }
    Relay relay = new Relay(tcp, stream);
    AtomicInteger open = new AtomicInteger(2);
    ChannelFutureListener closed = f -> {
      if (open.decrementAndGet() == 0) {
        relay.complete();
      }
    };
    tcp.closeFuture().addListener(closed);
    stream.closeFuture().addListener(closed);
    tcp.config().setOption(ChannelOption.ALLOW_HALF_CLOSURE, true);
    runOn(tcp, () -> tcp.pipeline().addLast(TCP_HANDLER, relay.new TcpSide()));
    runOn(stream, () -> {
      boolean handedOff = HandoffHandler.attach(stream, STREAM_HANDLER, relay.new StreamSide());
      if (!handedOff && !stream.isActive()) {
        relay.streamLost();
      }
    });
    return relay;
  }

  /** Bytes read from TCP and written into the stream so far. */
  public long bytesFromTcp() {
    return fromTcp;
  }

  /** Bytes read from the stream and written to TCP so far. */
  public long bytesToTcp() {
    return toTcp;
  }

  /** Completes when both channels are closed. */
  public CompletableFuture<RelayResult> completion() {
    return completion;
  }

  private void complete() {
    Outcome o = outcome.get();
    if (log.isDebugEnabled()) {
      log.debug("relay {} <-> {} ended {}: {} bytes from TCP, {} bytes to TCP{}", tcp, stream, o == null ? Outcome.CLEAN : o,
          fromTcp, toTcp, cause == null ? "" : " (" + cause + ")");
    }
    completion.complete(new RelayResult(fromTcp, toTcp, o == null ? Outcome.CLEAN : o, cause));
  }

  private boolean setOutcome(Outcome o, @Nullable Throwable t) {
    if (outcome.compareAndSet(null, o)) {
      cause = t;
      return true;
    }
    return false;
  }

  private void markDone(int bit) {
    if (done.accumulateAndGet(bit, (a, b) -> a | b) == (TCP_INPUT_DONE | STREAM_INPUT_DONE)) {
      setOutcome(Outcome.CLEAN, null);
      tcp.close();
    }
  }

  private void resetTcp() {
    runOn(tcp, () -> {
      if (tcp.isOpen()) {
        try {
          tcp.config().setOption(ChannelOption.SO_LINGER, 0);
        } catch (RuntimeException e) {
          log.debug("could not set SO_LINGER 0 on {}", tcp, e);
        }
        tcp.close();
      }
    });
  }

  private void resetStream(Http2Error error) {
    runOn(stream, () -> {
      if (stream.isActive()) {
        stream.writeAndFlush(new DefaultHttp2ResetFrame(error));
      }
      stream.close();
    });
  }

  /** The stream is gone without END_STREAM or a reset: the HTTP/2 connection was lost. */
  private void streamLost() {
    if ((done.get() & STREAM_INPUT_DONE) == 0) {
      setOutcome(Outcome.ERROR, new IOException("HTTP/2 stream closed before END_STREAM"));
      resetTcp();
    }
  }

  /** Shuts down the TCP output after everything written so far has been flushed. */
  private void finishTcpOutput() {
    tcp.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener((ChannelFutureListener) f -> {
      if (f.isSuccess()) {
        ((DuplexChannel) tcp).shutdownOutput().addListener(s -> markDone(STREAM_INPUT_DONE));
      }
    });
  }

  /**
   * Asks the TCP side for more data, unless its input is already shut down. Never read after FIN:
   * epoll in Netty 4.2 drops the descriptor's interest set then, and a later {@code read()} fails
   * with {@code epoll_ctl(..) ENOENT}, which would look like a reset and lose the other
   * direction's tail. The check must run on the TCP loop, where the FIN is seen.
   */
  private void readTcp() {
    if (tcp.eventLoop().inEventLoop()) {
      readTcpOnLoop();
    } else {
      tcp.eventLoop().execute(readTcpTask);
    }
  }

  private void readTcpOnLoop() {
    if (!tcpInputShutdown && tcp.isActive()) {
      tcp.read();
    }
  }

  private static void runOn(Channel ch, Runnable task) {
    if (ch.eventLoop().inEventLoop()) {
      task.run();
    } else {
      ch.eventLoop().execute(task);
    }
  }

  /** Handler on the TCP channel: TCP bytes become DATA frames. */
  private final class TcpSide extends ChannelInboundHandlerAdapter {
    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
      if (tcp.isActive()) {
        ctx.read();
      } else {
        setOutcome(Outcome.ERROR, new IOException("TCP connection closed before the relay started"));
        resetStream(Http2Error.CANCEL);
      }
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      if (!(msg instanceof ByteBuf buf)) {
        ReferenceCountUtil.release(msg);
        return;
      }
      int n = buf.readableBytes();
      if (n == 0) {
        buf.release();
        return;
      }
      if (!stream.isActive()) {
        buf.release(); // the stream ended (reset or lost); the TCP side is being closed
        return;
      }
      fromTcp += n;
      stream.write(new DefaultHttp2DataFrame(buf, false), stream.voidPromise());
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
      stream.flush();
      if (stream.isWritable()) {
        readTcpOnLoop();
      }
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
      if (ctx.channel().isWritable()) {
        stream.read();
      }
      ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
      if (evt instanceof ChannelInputShutdownEvent) {
        tcpInputShutdown = true;
        // TCP FIN: end our half of the stream; keep relaying the other direction.
        stream.writeAndFlush(new DefaultHttp2DataFrame(true), stream.voidPromise());
        markDone(TCP_INPUT_DONE);
      }
      ReferenceCountUtil.release(evt);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable t) {
      boolean reset = t instanceof IOException;
      if (setOutcome(reset ? Outcome.TCP_RESET : Outcome.ERROR, t)) {
        log.debug("TCP side {} failed: {}", tcp, t.toString());
      }
      resetStream(Http2Error.CONNECT_ERROR);
      ctx.close();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
      if (done.get() != (TCP_INPUT_DONE | STREAM_INPUT_DONE) && stream.isActive()) {
        // Closed without a FIN from the peer (a local close, or a reset already reported).
        setOutcome(Outcome.ERROR, new IOException("TCP connection closed before the relay finished"));
        resetStream(Http2Error.CONNECT_ERROR);
      }
      ctx.fireChannelInactive();
    }
  }

  /** Handler on the stream channel: DATA frames become TCP bytes. */
  private final class StreamSide extends ChannelInboundHandlerAdapter {
    private boolean ended;

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      if (!(msg instanceof Http2DataFrame frame)) {
        ReferenceCountUtil.release(msg);
        return;
      }
      if (ended) {
        frame.release();
        return;
      }
      ByteBuf content = frame.content();
      int n = content.readableBytes();
      if (n > 0) {
        toTcp += n;
        tcp.write(content, tcp.voidPromise()); // takes over the frame's reference
      } else {
        frame.release();
      }
      if (frame.isEndStream()) {
        ended = true;
        finishTcpOutput();
      }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
      tcp.flush();
      if (!ended && tcp.isWritable()) {
        ctx.read();
      }
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
      if (ctx.channel().isWritable()) {
        readTcp();
      }
      ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
      if (evt instanceof Http2ResetFrame reset) {
        long code = reset.errorCode();
        ended = true;
        if (code == Http2Error.NO_ERROR.code() || code == Http2Error.CANCEL.code()) {
          // An orderly end: flush what we have and close the TCP side with a FIN.
          setOutcome(Outcome.CLEAN, null);
          tcp.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
        } else {
          setOutcome(Outcome.STREAM_RESET,
              new IOException("stream reset by peer: " + Http2Error.valueOf(code) + " (" + code + ")"));
          resetTcp();
        }
      }
      ReferenceCountUtil.release(evt);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable t) {
      if (ended && !stream.isActive()) {
        // A late write into a stream that already ended (e.g. TCP data racing a reset): nothing to do.
        log.trace("late failure on ended stream {}: {}", stream, t.toString());
        return;
      }
      if (setOutcome(Outcome.ERROR, t)) {
        log.debug("stream side {} failed: {}", stream, t.toString());
      }
      ended = true;
      resetStream(Http2Error.INTERNAL_ERROR);
      resetTcp();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
      if (!ended) {
        streamLost();
      }
      ctx.fireChannelInactive();
    }
  }
}
