package dev.ambient.xds.client;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/** A hand-stepped clock: records each scheduled task with its delay; the test runs them. */
final class FakeScheduler implements XdsScheduler {
  record Task(Runnable runnable, Duration delay, boolean[] cancelled) {
    void run() {
      if (!cancelled[0]) {
        runnable.run();
      }
    }
  }

  final BlockingQueue<Task> tasks = new LinkedBlockingQueue<>();

  @Override
  public Cancellable schedule(Runnable task, Duration delay) {
    boolean[] cancelled = {false};
    tasks.add(new Task(task, delay, cancelled));
    return () -> cancelled[0] = true;
  }

  Task next() throws InterruptedException {
    Task t = tasks.poll(5, TimeUnit.SECONDS);
    assertThat(t).as("a scheduled task").isNotNull();
    return t;
  }
}
