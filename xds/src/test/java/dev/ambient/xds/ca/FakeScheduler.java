package dev.ambient.xds.ca;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.AbstractExecutorService;
import java.util.concurrent.Callable;
import java.util.concurrent.Delayed;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * A single-threaded {@link ScheduledExecutorService} and {@link Clock} driven by hand: nothing runs
 * until {@link #runDue()} or {@link #advance}, which run due tasks in time order on the calling
 * thread, moving the clock to each task's time.
 */
final class FakeScheduler extends AbstractExecutorService implements ScheduledExecutorService {
  private Instant now;
  private long sequence;
  private final List<Task<?>> tasks = new ArrayList<>();

  FakeScheduler(Instant start) {
    this.now = start;
  }

  final Clock clock = new Clock() {
    @Override
    public ZoneId getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(ZoneId zone) {
      throw new UnsupportedOperationException();
    }

    @Override
    public Instant instant() {
      return now;
    }
  };

  Instant now() {
    return now;
  }

  /** Runs every task due now, including tasks they submit for now. */
  void runDue() {
    advance(Duration.ZERO);
  }

  /** Moves time forward by {@code d}, running tasks as their time comes. */
  void advance(Duration d) {
    Instant target = now.plus(d);
    while (true) {
      Task<?> next = tasks.stream()
          .filter(t -> !t.isCancelled() && !t.at.isAfter(target))
          .min(Comparator.<Task<?>, Instant>comparing(t -> t.at).thenComparingLong(t -> t.seq))
          .orElse(null);
      if (next == null) {
        break;
      }
      tasks.remove(next);
      if (next.at.isAfter(now)) {
        now = next.at;
      }
      next.run();
    }
    tasks.removeIf(Task::isCancelled);
    now = target;
  }

  /** The time of the earliest pending task, if any. */
  Instant nextTaskTime() {
    return tasks.stream().filter(t -> !t.isCancelled()).map(t -> t.at).min(Comparator.naturalOrder()).orElseThrow();
  }

  int pendingTasks() {
    return (int) tasks.stream().filter(t -> !t.isCancelled()).count();
  }

  @Override
  public void execute(Runnable command) {
    schedule(command, 0, TimeUnit.NANOSECONDS);
  }

  @Override
  public ScheduledFuture<?> schedule(Runnable command, long delay, TimeUnit unit) {
    Task<Object> t = new Task<>(now.plusNanos(unit.toNanos(Math.max(0, delay))), sequence++, () -> {
      command.run();
      return null;
    });
    tasks.add(t);
    return t;
  }

  @Override
  public <V> ScheduledFuture<V> schedule(Callable<V> callable, long delay, TimeUnit unit) {
    Task<V> t = new Task<>(now.plusNanos(unit.toNanos(Math.max(0, delay))), sequence++, callable);
    tasks.add(t);
    return t;
  }

  @Override
  public ScheduledFuture<?> scheduleAtFixedRate(Runnable command, long initialDelay, long period, TimeUnit unit) {
    throw new UnsupportedOperationException();
  }

  @Override
  public ScheduledFuture<?> scheduleWithFixedDelay(Runnable command, long initialDelay, long delay, TimeUnit unit) {
    throw new UnsupportedOperationException();
  }

  @Override
  public void shutdown() {}

  @Override
  public List<Runnable> shutdownNow() {
    return List.of();
  }

  @Override
  public boolean isShutdown() {
    return false;
  }

  @Override
  public boolean isTerminated() {
    return false;
  }

  @Override
  public boolean awaitTermination(long timeout, TimeUnit unit) {
    return true;
  }

  private final class Task<V> extends java.util.concurrent.FutureTask<V> implements ScheduledFuture<V> {
    final Instant at;
    final long seq;

    Task(Instant at, long seq, Callable<V> callable) {
      super(callable);
      this.at = at;
      this.seq = seq;
    }

    @Override
    public void run() {
      super.run();
      try {
        if (isDone() && !isCancelled()) {
          get();
        }
      } catch (Exception e) {
        throw new AssertionError("a scheduled task failed", e);
      }
    }

    @Override
    public long getDelay(TimeUnit unit) {
      return unit.convert(Duration.between(now, at));
    }

    @Override
    public int compareTo(Delayed o) {
      return Long.compare(getDelay(TimeUnit.NANOSECONDS), o.getDelay(TimeUnit.NANOSECONDS));
    }
  }
}
