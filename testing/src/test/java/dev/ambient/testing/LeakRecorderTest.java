package dev.ambient.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.util.ResourceLeakDetector;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(LeakDetectionExtension.class)
class LeakRecorderTest {

  @AfterEach
  void forgetDeliberateLeaks() {
    // Runs before the extension's afterEach check (user @AfterEach methods run first).
    LeakRecorder.clear();
  }

  @Test
  void install_bySessionListener_beforeTestsRun() {
    assertThat(LeakRecorder.isInstalled()).isTrue();
    assertThat(ResourceLeakDetector.getLevel()).isEqualTo(ResourceLeakDetector.Level.PARANOID);
  }

  @Test
  void leakedPooledBuffer_isRecordedAndFailsAssertion() {
    LeakRecorder.clear();
    leak(PooledByteBufAllocator.DEFAULT);

    LeakRecorder.collectLeaks();

    assertThat(LeakRecorder.leaks())
        .as("the deliberately leaked ByteBuf must be reported")
        .anySatisfy(l -> {
          assertThat(l.resourceType()).contains("ByteBuf");
          assertThat(l.records()).contains("deliberate-leak-hint");
        });
    assertThatThrownBy(LeakRecorder::assertNoLeaks)
        .isInstanceOf(AssertionError.class)
        .hasMessageContaining("Netty resource leak(s) detected")
        .hasMessageContaining("ByteBuf");
    assertThat(LeakRecorder.leaks()).as("assertNoLeaks forgets what it reported").isEmpty();
  }

  @Test
  void extension_afterLeak_failsTest() {
    leak(ByteBufAllocator.DEFAULT);

    assertThatThrownBy(() -> new LeakDetectionExtension().afterEach(null))
        .isInstanceOf(AssertionError.class)
        .hasMessageContaining("deliberate-leak-hint");
  }

  @Test
  void assertNoLeaks_releasedBuffers_passes() {
    ByteBuf buf = PooledByteBufAllocator.DEFAULT.buffer(16);
    buf.writeInt(1);
    buf.release();

    LeakRecorder.assertNoLeaks();
  }

  private static void leak(ByteBufAllocator alloc) {
    ByteBuf buf = alloc.buffer(64);
    buf.writeLong(42);
    buf.touch("deliberate-leak-hint");
    // dropped without release()
  }
}
