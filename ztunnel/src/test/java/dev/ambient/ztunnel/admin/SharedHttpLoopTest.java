package dev.ambient.ztunnel.admin;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.channel.EventLoopGroup;
import org.junit.jupiter.api.Test;

class SharedHttpLoopTest {

  @Test
  void listenersShareOneLoopThatStopsWithTheLastOne() {
    EventLoopGroup first = SharedHttpLoop.acquire();
    EventLoopGroup second = SharedHttpLoop.acquire();
    assertThat(second).isSameAs(first);

    SharedHttpLoop.release(first);
    assertThat(first.isShuttingDown()).as("still used by the second listener").isFalse();

    SharedHttpLoop.release(second);
    assertThat(first.isTerminated()).as("last user gone").isTrue();

    EventLoopGroup next = SharedHttpLoop.acquire();
    try {
      assertThat(next).as("a new loop after the old one stopped").isNotSameAs(first);
      assertThat(next.isShuttingDown()).isFalse();
      SharedHttpLoop.release(first);
      assertThat(next.isShuttingDown()).as("releasing a stopped loop again changes nothing").isFalse();
    } finally {
      SharedHttpLoop.release(next);
    }
  }
}
