package dev.ambient.hbone;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** Flushes reach the handler below the filter only when something was written since the last one. */
class EmptyFlushFilterTest {
  /** Counts the flushes that get past the filter (stands in for the SslHandler). */
  private static final class FlushCounter extends ChannelOutboundHandlerAdapter {
    int flushes;

    @Override
    public void flush(ChannelHandlerContext ctx) {
      flushes++;
      ctx.flush();
    }
  }

  private final FlushCounter below = new FlushCounter();
  private final EmbeddedChannel ch = new EmbeddedChannel(below, new EmptyFlushFilter());

  private static ByteBuf bytes(String s) {
    return Unpooled.copiedBuffer(s, StandardCharsets.US_ASCII);
  }

  @Test
  void firstFlushPassesEvenWithoutAWrite() {
    ch.flush();
    assertThat(below.flushes).isEqualTo(1);
    assertThat(ch.finish()).isFalse();
  }

  @Test
  void flushAfterNoWriteIsDropped() {
    ch.flush();
    ch.flush();
    ch.flush();
    assertThat(below.flushes).isEqualTo(1);
    assertThat(ch.finish()).isFalse();
  }

  @Test
  void everyWriteIsFlushedByTheNextFlush() {
    ch.flush();
    ch.write(bytes("a"));
    ch.flush();
    ch.flush(); // empty: dropped
    ch.write(bytes("b"));
    ch.write(bytes("c"));
    ch.flush();
    assertThat(below.flushes).isEqualTo(3);
    ByteBuf out;
    StringBuilder seen = new StringBuilder();
    while ((out = ch.readOutbound()) != null) {
      seen.append(out.toString(StandardCharsets.US_ASCII));
      out.release();
    }
    assertThat(seen).hasToString("abc");
    assertThat(ch.finish()).isFalse();
  }

  @Test
  void writeWithVoidPromiseCountsAsAWrite() {
    ch.flush();
    ch.write(bytes("x"), ch.voidPromise());
    ch.flush();
    assertThat(below.flushes).isEqualTo(2);
    ByteBuf out = ch.readOutbound();
    assertThat(out.toString(StandardCharsets.US_ASCII)).isEqualTo("x");
    out.release();
    assertThat(ch.finish()).isFalse();
  }
}
