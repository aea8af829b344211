package dev.ambient.xds.server;

import java.io.IOException;
import java.nio.file.ClosedWatchServiceException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardWatchEventKinds;
import java.nio.file.WatchEvent;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;
import java.time.Duration;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.LongConsumer;
import java.util.stream.Stream;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Watches a directory tree with a {@link WatchService} and runs a callback on {@code executor} once
 * a burst of changes has settled.
 *
 * <p>Debounce: the callback runs {@code quiet} after the last event, but never later than {@code
 * maxDelay} after the first event of a burst (an editor writing a file in several steps is one
 * change; a steady stream of changes is still pushed). New sub-directories are watched as they
 * appear.
 *
 * <p>The callback gets the {@link System#nanoTime()} at which the first event of the burst was taken
 * (for the control plane's stage timings). An event taken while the callback runs starts a new burst,
 * so a change written during a reload is always reloaded again.
 *
 * <h2>Threading</h2>
 * One daemon thread takes events; the callback always runs on {@code executor}, which the control
 * plane uses as its single config thread.
 */
final class DirectoryWatcher implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(DirectoryWatcher.class);

  private final Path root;
  private final WatchService watch;
  private final ScheduledExecutorService executor;
  private final LongConsumer onChange;
  private final long quietNanos;
  private final long maxDelayNanos;
  private final Thread thread;
  private final Object lock = new Object();
  private @Nullable ScheduledFuture<?> scheduled; // guarded by lock
  private long burstStart; // guarded by lock

  DirectoryWatcher(Path root, ScheduledExecutorService executor, Duration quiet, Duration maxDelay, LongConsumer onChange)
      throws IOException {
    this.root = root;
    this.executor = executor;
    this.onChange = onChange;
    this.quietNanos = quiet.toNanos();
    this.maxDelayNanos = maxDelay.toNanos();
    this.watch = FileSystems.getDefault().newWatchService();
    registerTree(root);
    this.thread = Thread.ofPlatform().daemon().name("config-watch").unstarted(this::run);
  }

  void start() {
    thread.start();
  }

  private void registerTree(Path dir) throws IOException {
    try (Stream<Path> dirs = Files.walk(dir)) {
      for (Path d : (Iterable<Path>) dirs.filter(Files::isDirectory)::iterator) {
        d.register(watch, StandardWatchEventKinds.ENTRY_CREATE, StandardWatchEventKinds.ENTRY_MODIFY,
            StandardWatchEventKinds.ENTRY_DELETE);
      }
    }
  }

  private void run() {
    try {
      while (true) {
        WatchKey key = watch.take();
        Path dir = (Path) key.watchable();
        for (WatchEvent<?> event : key.pollEvents()) {
          if (event.kind() == StandardWatchEventKinds.ENTRY_CREATE && event.context() instanceof Path p
              && Files.isDirectory(dir.resolve(p))) {
            try {
              registerTree(dir.resolve(p));
            } catch (IOException e) {
              log.warn("cannot watch new directory {}: {}", dir.resolve(p), e.toString());
            }
          }
        }
        key.reset();
        changed();
      }
    } catch (InterruptedException | ClosedWatchServiceException e) {
      // closed
    }
  }

  private void changed() {
    synchronized (lock) {
      long now = System.nanoTime();
      if (scheduled == null || scheduled.isDone()) {
        burstStart = now;
      } else {
        scheduled.cancel(false);
      }
      long delay = Math.min(quietNanos, Math.max(0, burstStart + maxDelayNanos - now));
      scheduled = executor.schedule(this::fire, delay, TimeUnit.NANOSECONDS);
    }
  }

  private void fire() {
    long firstEvent;
    synchronized (lock) {
      scheduled = null;
      firstEvent = burstStart;
    }
    try {
      onChange.accept(firstEvent);
    } catch (RuntimeException e) {
      log.error("reloading {} failed", root, e);
    }
  }

  @Override
  public void close() {
    thread.interrupt();
    try {
      watch.close();
    } catch (IOException ignored) {
      // nothing left to do
    }
  }
}
