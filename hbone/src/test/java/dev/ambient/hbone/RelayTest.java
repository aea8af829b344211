package dev.ambient.hbone;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import dev.ambient.hbone.RelayResult.Outcome;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.handler.codec.http2.DefaultHttp2DataFrame;
import io.netty.handler.codec.http2.DefaultHttp2ResetFrame;
import io.netty.handler.codec.http2.Http2DataFrame;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2ResetFrame;
import java.io.IOException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The relay's mapping between TCP and an HTTP/2 stream, on embedded channels (no sockets). */
class RelayTest {
  private TestDuplexChannel tcp;
  private EmbeddedChannel stream;
  private Relay relay;

  @BeforeEach
  void setUp() {
    tcp = new TestDuplexChannel();
    stream = new EmbeddedChannel();
    stream.config().setAutoRead(false);
    relay = Relay.start(tcp, stream);
  }

  @AfterEach
  void tearDown() {
    tcp.finishAndReleaseAll();
    stream.finishAndReleaseAll();
  }

  @Test
  void tcpBytes_becomeDataFramesWithoutEndStream() {
    tcp.writeInbound(text("hello"));

    Http2DataFrame frame = stream.readOutbound();
    assertThat(frame.content().toString(UTF_8)).isEqualTo("hello");
    assertThat(frame.isEndStream()).isFalse();
    frame.release();
    assertThat(relay.bytesFromTcp()).isEqualTo(5);
  }

  @Test
  void dataFrames_becomeTcpBytes_andEmptyFramesAreSkipped() {
    stream.writeInbound(new DefaultHttp2DataFrame(text("wor")));
    stream.writeInbound(new DefaultHttp2DataFrame(Unpooled.EMPTY_BUFFER));
    stream.writeInbound(new DefaultHttp2DataFrame(text("ld")));

    assertThat(readAll(tcp)).isEqualTo("world");
    assertThat(relay.bytesToTcp()).isEqualTo(5);
  }

  @Test
  void tcpFin_sendsEmptyEndStream_andTheOtherDirectionKeepsFlowing() {
    tcp.pipeline().fireUserEventTriggered(ChannelInputShutdownEvent.INSTANCE);

    Http2DataFrame end = stream.readOutbound();
    assertThat(end.isEndStream()).isTrue();
    assertThat(end.content().readableBytes()).isZero();
    end.release();

    stream.writeInbound(new DefaultHttp2DataFrame(text("answer")));
    assertThat(readAll(tcp)).isEqualTo("answer");
    assertThat(tcp.isOpen()).isTrue();
  }

  @Test
  void endStream_shutsDownTcpOutputAfterItsData_andTcpStillSends() {
    stream.writeInbound(new DefaultHttp2DataFrame(text("last"), true));

    assertThat(readAll(tcp)).isEqualTo("last");
    assertThat(tcp.isOutputShutdown()).isTrue();
    assertThat(tcp.isOpen()).isTrue();

    tcp.writeInbound(text("more"));
    Http2DataFrame frame = stream.readOutbound();
    assertThat(frame.content().toString(UTF_8)).isEqualTo("more");
    frame.release();
  }

  @Test
  void bothDirectionsEnded_closesTcp_andCompletesClean() throws Exception {
    stream.writeInbound(new DefaultHttp2DataFrame(text("x"), true));
    tcp.pipeline().fireUserEventTriggered(ChannelInputShutdownEvent.INSTANCE);
    readAll(tcp);
    releaseOutbound(stream);

    assertThat(tcp.isOpen()).isFalse();
    stream.close(); // an Http2StreamChannel closes itself once both END_STREAMs were exchanged
    RelayResult result = relay.completion().get(1, TimeUnit.SECONDS);
    assertThat(result.outcome()).isEqualTo(Outcome.CLEAN);
    assertThat(result.bytesToTcp()).isEqualTo(1);
  }

  @Test
  void tcpReset_resetsStreamWithConnectError() throws Exception {
    tcp.pipeline().fireExceptionCaught(new IOException("Connection reset by peer"));

    Http2ResetFrame reset = stream.readOutbound();
    assertThat(reset.errorCode()).isEqualTo(Http2Error.CONNECT_ERROR.code());
    assertThat(tcp.isOpen()).isFalse();
    assertThat(stream.isOpen()).isFalse();
    assertThat(relay.completion().get(1, TimeUnit.SECONDS).outcome()).isEqualTo(Outcome.TCP_RESET);
  }

  @Test
  void streamResetCancel_endsTcpWithFin() throws Exception {
    stream.writeInbound(new DefaultHttp2DataFrame(text("partial")));
    stream.pipeline().fireUserEventTriggered(new DefaultHttp2ResetFrame(Http2Error.CANCEL));

    assertThat(readAll(tcp)).isEqualTo("partial");
    assertThat(tcp.isOpen()).isFalse();
    stream.close();
    assertThat(relay.completion().get(1, TimeUnit.SECONDS).outcome()).isEqualTo(Outcome.CLEAN);
  }

  @Test
  void streamResetWithError_resetsTcp() throws Exception {
    stream.pipeline().fireUserEventTriggered(new DefaultHttp2ResetFrame(Http2Error.PROTOCOL_ERROR));

    assertThat(tcp.isOpen()).isFalse();
    stream.close();
    RelayResult result = relay.completion().get(1, TimeUnit.SECONDS);
    assertThat(result.outcome()).isEqualTo(Outcome.STREAM_RESET);
    assertThat(result.cause()).hasMessageContaining("PROTOCOL_ERROR");
  }

  @Test
  void streamLostWithoutEndStream_resetsTcp() throws Exception {
    stream.close();

    assertThat(tcp.isOpen()).isFalse();
    assertThat(relay.completion().get(1, TimeUnit.SECONDS).outcome()).isEqualTo(Outcome.ERROR);
  }

  @Test
  void tcpReads_pauseWhileStreamIsUnwritable_andResumeWhenItDrains() {
    int before = tcp.reads;
    stream.unsafe().outboundBuffer().setUserDefinedWritability(1, false);
    tcp.writeInbound(text("a"));
    releaseOutbound(stream);
    assertThat(tcp.reads).as("no read while the stream is unwritable").isEqualTo(before);

    stream.unsafe().outboundBuffer().setUserDefinedWritability(1, true);
    stream.runPendingTasks();
    assertThat(tcp.reads).as("writability back: read again").isEqualTo(before + 1);
  }

  @Test
  void streamReads_pauseWhileTcpIsUnwritable() {
    int[] streamReads = {0};
    stream.pipeline().addFirst(new io.netty.channel.ChannelOutboundHandlerAdapter() {
      @Override
      public void read(io.netty.channel.ChannelHandlerContext ctx) {
        streamReads[0]++;
        ctx.read();
      }
    });
    tcp.unsafe().outboundBuffer().setUserDefinedWritability(1, false);
    stream.writeInbound(new DefaultHttp2DataFrame(text("a")));
    readAll(tcp);
    assertThat(streamReads[0]).isZero();

    tcp.unsafe().outboundBuffer().setUserDefinedWritability(1, true);
    tcp.runPendingTasks();
    assertThat(streamReads[0]).isEqualTo(1);
  }

  private static ByteBuf text(String s) {
    return Unpooled.copiedBuffer(s, UTF_8);
  }

  private static String readAll(EmbeddedChannel ch) {
    StringBuilder sb = new StringBuilder();
    for (Object o; (o = ch.readOutbound()) != null; ) {
      ByteBuf b = (ByteBuf) o;
      sb.append(b.toString(UTF_8));
      b.release();
    }
    return sb.toString();
  }

  private static void releaseOutbound(EmbeddedChannel ch) {
    for (Object o; (o = ch.readOutbound()) != null; ) {
      io.netty.util.ReferenceCountUtil.release(o);
    }
  }
}
