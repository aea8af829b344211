package dev.ambient.net;

import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandle;
import io.netty.channel.IoHandler;
import io.netty.channel.IoHandlerContext;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.IoRegistration;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.EventExecutorChooserFactory;
import io.netty.util.concurrent.ThreadAwareExecutor;
import io.netty.util.concurrent.ThreadPerTaskExecutor;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;
import org.jspecify.annotations.Nullable;

/**
 * An event-loop group that packs new channels onto as few loops as the load needs: each new channel
 * goes to the first loop (in a fixed order) that was less than {@link #BUSY} busy over the last
 * {@link #WINDOW_NANOS}, and only when every loop is that busy to the least busy one. "Busy" is the
 * share of wall time a loop spent handling I/O completions (what the I/O handler reports through
 * {@link IoHandlerContext#reportActiveIoTime}), not waiting.
 *
 * <p>Why: with round-robin, the connections of a lightly loaded proxy are spread over all loops, so
 * requests that arrive together wake several threads, each for a little work. Packed on one loop,
 * one wake-up serves them all (measured in {@code ./ambient bench l4}: half the context switches and
 * ~30 % less CPU per request at 1,000 requests/s; docs/performance.md). Under load new channels
 * spill over to the next loops. Channels never move: a burst of new connections within one window
 * lands on the same loop.
 */
final class LoadPackingGroup {
  /** A loop busier than this gets new channels only when every loop is. */
  static final double BUSY = 0.5;
  /** How long a loop's busy share is measured over before it is recomputed. */
  static final long WINDOW_NANOS = 250_000_000L;

  private LoadPackingGroup() {}

  static EventLoopGroup create(int threads, String name, IoHandlerFactory handlers) {
    Meters meters = new Meters(System::nanoTime);
    return new MultiThreadIoEventLoopGroup(threads, new ThreadPerTaskExecutor(new DefaultThreadFactory(name, true)),
        meters.chooserFactory(), meters.measuring(handlers));
  }

  /**
   * The loop for a new channel: the first whose busy share is below {@code busy}, else the least
   * busy (the first of equals).
   */
  static int choose(double[] busyShare, double busy) {
    int least = 0;
    for (int i = 0; i < busyShare.length; i++) {
      if (busyShare[i] < busy) {
        return i;
      }
      if (busyShare[i] < busyShare[least]) {
        least = i;
      }
    }
    return least;
  }

  /** Active I/O time per loop (one writer: the loop) and the windowed busy share the chooser reads. */
  static final class Meters {
    private final LongSupplier clock;
    private final Map<ThreadAwareExecutor, Meter> byLoop = new IdentityHashMap<>();

    Meters(LongSupplier clock) {
      this.clock = clock;
    }

    synchronized Meter meter(ThreadAwareExecutor loop) {
      return byLoop.computeIfAbsent(loop, l -> new Meter(clock.getAsLong()));
    }

    IoHandlerFactory measuring(IoHandlerFactory handlers) {
      return new IoHandlerFactory() {
        @Override
        public IoHandler newHandler(ThreadAwareExecutor loop) {
          return new MeasuredHandler(handlers.newHandler(loop), meter(loop));
        }

        @Override
        public boolean isChangingThreadSupported() {
          return handlers.isChangingThreadSupported();
        }
      };
    }

    EventExecutorChooserFactory chooserFactory() {
      return executors -> {
        Meter[] meters = new Meter[executors.length];
        for (int i = 0; i < executors.length; i++) {
          // The group creates the loops (and so their handlers) before the chooser.
          meters[i] = executors[i] instanceof ThreadAwareExecutor t ? meter(t) : new Meter(clock.getAsLong());
        }
        return new EventExecutorChooserFactory.EventExecutorChooser() {
          private final double[] shares = new double[executors.length];

          @Override
          public synchronized EventExecutor next() {
            long now = clock.getAsLong();
            for (int i = 0; i < meters.length; i++) {
              shares[i] = meters[i].busyShare(now);
            }
            return executors[choose(shares, BUSY)];
          }
        };
      };
    }
  }

  /** One loop's active I/O nanoseconds, and its busy share over the last completed window. */
  static final class Meter {
    private final AtomicLong activeNanos = new AtomicLong();
    // Guarded by the chooser's lock.
    private long windowStart;
    private long windowStartActive;
    private double share;

    Meter(long now) {
      this.windowStart = now;
    }

    void addActive(long nanos) {
      activeNanos.lazySet(activeNanos.get() + nanos); // single writer: the loop's thread
    }

    double busyShare(long now) {
      long elapsed = now - windowStart;
      if (elapsed >= WINDOW_NANOS) {
        long active = activeNanos.get();
        share = Math.min(1.0, (active - windowStartActive) / (double) elapsed);
        windowStart = now;
        windowStartActive = active;
      }
      return share;
    }
  }

  /** Delegates to the transport's handler and collects the active time it reports. */
  private static final class MeasuredHandler implements IoHandler, IoHandlerContext {
    private final IoHandler delegate;
    private final Meter meter;
    // The loop's context of the current run(); set and used on the loop's thread only. This object
    // is the context the transport's handler sees, and it exists only inside run().
    private @Nullable IoHandlerContext context;

    MeasuredHandler(IoHandler delegate, Meter meter) {
      this.delegate = delegate;
      this.meter = meter;
    }

    private IoHandlerContext loop() {
      IoHandlerContext c = context;
      if (c == null) {
        throw new IllegalStateException("the I/O handler's context is used outside run()");
      }
      return c;
    }

    @Override
    public void initialize() {
      delegate.initialize();
    }

    @Override
    public int run(IoHandlerContext loopContext) {
      context = loopContext;
      try {
        return delegate.run(this);
      } finally {
        context = null;
      }
    }

    @Override
    public boolean canBlock() {
      return loop().canBlock();
    }

    @Override
    public long delayNanos(long currentTimeNanos) {
      return loop().delayNanos(currentTimeNanos);
    }

    @Override
    public long deadlineNanos() {
      return loop().deadlineNanos();
    }

    @Override
    public void reportActiveIoTime(long activeNanos) {
      meter.addActive(activeNanos);
      IoHandlerContext c = loop();
      if (c.shouldReportActiveIoTime()) {
        c.reportActiveIoTime(activeNanos);
      }
    }

    @Override
    public boolean shouldReportActiveIoTime() {
      return true;
    }

    @Override
    public void prepareToDestroy() {
      delegate.prepareToDestroy();
    }

    @Override
    public void destroy() {
      delegate.destroy();
    }

    @Override
    public IoRegistration register(IoHandle handle) throws Exception {
      return delegate.register(handle);
    }

    @Override
    public void wakeup() {
      delegate.wakeup();
    }

    @Override
    public boolean isCompatible(Class<? extends IoHandle> handleType) {
      return delegate.isCompatible(handleType);
    }
  }
}
