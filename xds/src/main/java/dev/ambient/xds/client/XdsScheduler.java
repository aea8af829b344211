package dev.ambient.xds.client;

import java.time.Duration;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Runs a task after a delay: the client's only notion of time (reconnect backoff, on-demand
 * timeouts), injected so tests can step it by hand. Tasks only hop back onto the client's serial
 * executor, so any thread will do.
 */
@FunctionalInterface
public interface XdsScheduler {
  /** Schedules {@code task}; the returned handle cancels it if it has not run. */
  Cancellable schedule(Runnable task, Duration delay);

  /** A scheduled task that can be cancelled. */
  @FunctionalInterface
  interface Cancellable {
    void cancel();
  }

  /** Backed by a {@link ScheduledExecutorService} (the caller owns its lifecycle). */
  static XdsScheduler of(ScheduledExecutorService executor) {
    return (task, delay) -> {
      var f = executor.schedule(task, delay.toNanos(), TimeUnit.NANOSECONDS);
      return () -> f.cancel(false);
    };
  }
}
