package dev.ambient.testing;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.netty.util.ResourceLeakDetector;
import io.netty.util.ResourceLeakDetectorFactory;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A {@link ResourceLeakDetectorFactory} whose detectors record every leak Netty reports (in
 * addition to logging it), so tests can fail on leaks instead of leaving them in a log.
 *
 * <p>Netty creates its detectors in static initializers ({@code AbstractByteBuf}, the OpenSSL
 * engine, ...), so the factory must be installed before those classes load: {@link
 * LeakRecordingSessionListener} does that when the JUnit Platform launcher session opens, for every
 * module whose test classpath holds ambient-testing. Use {@link LeakDetectionExtension} to check
 * after each test, or call {@link #assertNoLeaks()}.
 */
public final class LeakRecorder extends ResourceLeakDetectorFactory {
  /** One leak report: the resource type and Netty's access records (empty when untraced). */
  public record Leak(String resourceType, String records) {
    @Override
    public String toString() {
      return "LEAK of " + resourceType + (records.isEmpty() ? " (untraced)" : ":" + records);
    }
  }

  private static final List<Leak> LEAKS = new CopyOnWriteArrayList<>();
  private static volatile boolean installed;

  private LeakRecorder() {}

  /** Installs the recorder as Netty's detector factory; idempotent. Detectors created earlier are not affected. */
  public static synchronized void install() {
    if (!installed) {
      ResourceLeakDetectorFactory.setResourceLeakDetectorFactory(new LeakRecorder());
      installed = true;
    }
  }

  /** Whether Netty currently creates detectors through this recorder. */
  public static boolean isInstalled() {
    return ResourceLeakDetectorFactory.instance() instanceof LeakRecorder;
  }

  /** The leaks recorded so far. */
  public static List<Leak> leaks() {
    return List.copyOf(LEAKS);
  }

  /** Forgets recorded leaks (for tests that leak on purpose). */
  public static void clear() {
    LEAKS.clear();
  }

  /**
   * Makes pending leaks visible: runs the garbage collector a few times, then allocates and releases
   * buffers so the detectors poll their reference queues (they only do so when tracking a new object).
   */
  public static void collectLeaks() {
    for (int i = 0; i < 3; i++) {
      System.gc();
      try {
        Thread.sleep(20);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
      // Below paranoid level only every n-th allocation is tracked, hence several hundred.
      for (ByteBufAllocator alloc :
          List.of(PooledByteBufAllocator.DEFAULT, UnpooledByteBufAllocator.DEFAULT, ByteBufAllocator.DEFAULT)) {
        for (int j = 0; j < 200; j++) {
          ByteBuf buf = alloc.buffer(1);
          buf.release();
        }
      }
    }
  }

  /** Collects pending leaks and throws an {@link AssertionError} listing them if any was recorded; clears them. */
  public static void assertNoLeaks() {
    collectLeaks();
    List<Leak> found = leaks();
    if (!found.isEmpty()) {
      LEAKS.removeAll(found);
      StringBuilder sb = new StringBuilder().append(found.size()).append(" Netty resource leak(s) detected:");
      found.forEach(l -> sb.append("\n\n").append(l));
      throw new AssertionError(sb.toString());
    }
  }

  @Override
  @SuppressWarnings("deprecation") // abstract in ResourceLeakDetectorFactory, so it must be implemented
  public <T> ResourceLeakDetector<T> newResourceLeakDetector(Class<T> resource, int samplingInterval, long maxActive) {
    return new RecordingDetector<>(resource, samplingInterval);
  }

  @Override
  public <T> ResourceLeakDetector<T> newResourceLeakDetector(Class<T> resource, int samplingInterval) {
    return new RecordingDetector<>(resource, samplingInterval);
  }

  private static final class RecordingDetector<T> extends ResourceLeakDetector<T> {
    RecordingDetector(Class<T> resource, int samplingInterval) {
      super(resource, samplingInterval);
    }

    @Override
    protected boolean needReport() {
      // The default checks whether the logger is enabled for ERROR; we record regardless of logging.
      return true;
    }

    @Override
    protected void reportTracedLeak(String resourceType, String records) {
      LEAKS.add(new Leak(resourceType, records));
      super.reportTracedLeak(resourceType, records);
    }

    @Override
    protected void reportUntracedLeak(String resourceType) {
      LEAKS.add(new Leak(resourceType, ""));
      super.reportUntracedLeak(resourceType);
    }
  }
}
