package dev.ambient.xds.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DirectoryWatcherTest {
  private static final Duration QUIET = Duration.ofMillis(50);
  private static final Duration MAX = Duration.ofMillis(500);

  @TempDir Path dir;
  private final ScheduledExecutorService executor = Executors.newSingleThreadScheduledExecutor();
  private DirectoryWatcher watcher;

  /** One callback: the first event's nanoTime it was given, and when it ran. */
  private record Call(long firstEvent, long ran) {}

  @AfterEach
  void stop() throws Exception {
    if (watcher != null) {
      watcher.close();
    }
    executor.shutdownNow();
    executor.awaitTermination(5, TimeUnit.SECONDS);
  }

  @Test
  void aBurstIsOneCallbackGivenTheTimeOfItsFirstEvent() throws Exception {
    LinkedBlockingQueue<Call> calls = new LinkedBlockingQueue<>();
    watcher = new DirectoryWatcher(dir, executor, QUIET, MAX, first -> calls.add(new Call(first, System.nanoTime())));
    watcher.start();

    long written = System.nanoTime();
    Files.writeString(dir.resolve("a.yaml"), "workloads: []\n");
    Files.writeString(dir.resolve("b.yaml"), "workloads: []\n");
    Call call = calls.poll(10, TimeUnit.SECONDS);

    assertThat(call).isNotNull();
    assertThat(call.firstEvent()).isBetween(written, call.ran());
    // it ran after the quiet time that followed the burst's last event, so at least that long after the first
    assertThat(call.ran() - call.firstEvent()).isGreaterThanOrEqualTo(QUIET.toNanos());
    assertThat(calls.poll(300, TimeUnit.MILLISECONDS)).as("the burst made one callback").isNull();
  }

  @Test
  void aChangeWrittenWhileTheCallbackRunsStartsANewBurst() throws Exception {
    LinkedBlockingQueue<Call> calls = new LinkedBlockingQueue<>();
    CountDownLatch inFirst = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    watcher = new DirectoryWatcher(dir, executor, QUIET, MAX, first -> {
      calls.add(new Call(first, System.nanoTime()));
      inFirst.countDown();
      try {
        release.await(10, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    });
    watcher.start();

    Files.writeString(dir.resolve("a.yaml"), "workloads: []\n");
    assertThat(inFirst.await(10, TimeUnit.SECONDS)).isTrue();
    long secondWrite = System.nanoTime();
    Files.writeString(dir.resolve("a.yaml"), "services: []\n");
    Thread.sleep(QUIET.toMillis() * 2); // the second event is taken while the first callback still runs
    release.countDown();

    Call first = calls.poll(10, TimeUnit.SECONDS);
    Call second = calls.poll(10, TimeUnit.SECONDS);
    assertThat(first).isNotNull();
    assertThat(second).as("a second callback for the change written during the first").isNotNull();
    assertThat(first.firstEvent()).isLessThan(secondWrite);
    assertThat(second.firstEvent()).as("the second burst's own first event").isGreaterThanOrEqualTo(secondWrite);
  }
}
