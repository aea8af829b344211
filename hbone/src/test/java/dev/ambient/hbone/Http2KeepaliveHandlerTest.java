package dev.ambient.hbone;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http2.DefaultHttp2PingFrame;
import io.netty.handler.codec.http2.Http2PingFrame;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** PING keepalive on an embedded channel with a frozen clock. */
class Http2KeepaliveHandlerTest {
  private final EmbeddedChannel ch = new EmbeddedChannel();

  private void install(Duration interval, Duration timeout) {
    ch.freezeTime();
    ch.pipeline().addLast(new Http2KeepaliveHandler(interval, timeout));
  }

  @Test
  void firstPing_goesOutAfterOneInterval() {
    install(Duration.ofSeconds(10), Duration.ofSeconds(20));
    ch.advanceTimeBy(9, TimeUnit.SECONDS);
    ch.runScheduledPendingTasks();
    assertThat((Object) ch.readOutbound()).isNull();

    ch.advanceTimeBy(1, TimeUnit.SECONDS);
    ch.runScheduledPendingTasks();
    Http2PingFrame ping = ch.readOutbound();
    assertThat(ping.ack()).isFalse();
  }

  @Test
  void unansweredPing_closesTheConnectionAfterTheTimeout() {
    install(Duration.ofSeconds(10), Duration.ofSeconds(20));
    ch.advanceTimeBy(10, TimeUnit.SECONDS);
    ch.runScheduledPendingTasks();
    assertThat((Object) ch.readOutbound()).isInstanceOf(Http2PingFrame.class);

    ch.advanceTimeBy(19, TimeUnit.SECONDS);
    ch.runScheduledPendingTasks();
    assertThat(ch.isOpen()).isTrue();
    ch.advanceTimeBy(1, TimeUnit.SECONDS);
    ch.runScheduledPendingTasks();
    assertThat(ch.isOpen()).isFalse();
  }

  @Test
  void answeredPing_keepsTheConnection_andSchedulesTheNext() {
    install(Duration.ofSeconds(10), Duration.ofSeconds(20));
    ch.advanceTimeBy(10, TimeUnit.SECONDS);
    ch.runScheduledPendingTasks();
    Http2PingFrame ping = ch.readOutbound();
    ch.writeInbound(new DefaultHttp2PingFrame(ping.content(), true));
    assertThat((Object) ch.readInbound()).as("the ack is passed on").isInstanceOf(Http2PingFrame.class);

    ch.advanceTimeBy(25, TimeUnit.SECONDS);
    ch.runScheduledPendingTasks();
    assertThat(ch.isOpen()).isTrue();
    Http2PingFrame next = ch.readOutbound();
    assertThat(next.content()).isNotEqualTo(ping.content());
  }

  @Test
  void ackForAnotherPing_doesNotCount() {
    install(Duration.ofSeconds(10), Duration.ofSeconds(20));
    ch.advanceTimeBy(10, TimeUnit.SECONDS);
    ch.runScheduledPendingTasks();
    Http2PingFrame ping = ch.readOutbound();
    ch.writeInbound(new DefaultHttp2PingFrame(ping.content() + 1000, true));
    ch.readInbound();

    ch.advanceTimeBy(20, TimeUnit.SECONDS);
    ch.runScheduledPendingTasks();
    assertThat(ch.isOpen()).isFalse();
  }

  @Test
  void zeroInterval_disablesKeepalive() {
    install(Duration.ZERO, Duration.ofSeconds(20));
    ch.advanceTimeBy(1, TimeUnit.HOURS);
    ch.runScheduledPendingTasks();
    assertThat((Object) ch.readOutbound()).isNull();
    assertThat(ch.isOpen()).isTrue();
  }
}
