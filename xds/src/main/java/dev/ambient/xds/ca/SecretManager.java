package dev.ambient.xds.ca;

import static java.util.Objects.requireNonNull;

import dev.ambient.identity.SpiffeId;
import dev.ambient.identity.WorkloadCertificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.DoubleSupplier;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * ztunnel's certificate cache (spec ztunnel §8.5): one entry per identity, refreshed at half-life,
 * retried with backoff, shared by every caller that needs that identity.
 *
 * <h2>Requests</h2>
 * Concurrent callers for one identity share one in-flight CSR. Requests wait in a queue ordered by
 * {@link Priority} (then arrival) and at most {@link Builder#maxInFlight} (default 8) CSRs are out at
 * once. Asking for a queued identity with a higher priority bumps the queued request.
 *
 * <h2>Rotation and retries</h2>
 * After a certificate arrives, a {@link Priority#BACKGROUND} refresh is scheduled at
 * {@code not_before + (not_after − not_before) / 2}, or at once when {@code not_before} is in the
 * future. A failure schedules a retry after {@link Backoff#CSR_DEFAULT} (per identity, reset on
 * success). While the previous certificate is still valid it keeps being served and the retry runs
 * at {@code min(backoff, expiry)}; otherwise the state becomes {@link Unavailable} and callers get
 * the error until a retry succeeds.
 *
 * <h2>Forgetting</h2>
 * {@link #forget} drops the entry: queued and scheduled work is cancelled, waiting callers fail with
 * {@link CaException.Reason#FORGOTTEN}, and the result of a CSR still in flight is discarded.
 *
 * <h2>Threading</h2>
 * All state lives on one serial executor, the injected {@link ScheduledExecutorService} (which must
 * run one task at a time, e.g. {@code Executors.newSingleThreadScheduledExecutor()}). Public methods
 * only enqueue work there and may be called from any thread; internal methods assert that they run
 * on it. Futures returned by {@link #fetchCertificate} complete on that executor: do not block in
 * dependent stages (use the {@code *Async} variants for slow work). {@link #states()} reads an
 * immutable snapshot published after every change.
 */
public final class SecretManager implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(SecretManager.class);
  /** ztunnel's limit on concurrent CSRs. */
  public static final int DEFAULT_MAX_IN_FLIGHT = 8;

  /** Why a certificate is wanted; a higher priority is served first. */
  public enum Priority {
    /** A scheduled refresh or retry. */
    BACKGROUND,
    /** Prefetch: a local workload with this identity appeared in xDS. */
    WARMUP,
    /** A connection is waiting for it now. */
    REAL_TIME
  }

  /** An identity's state, for {@code /config_dump}. */
  public sealed interface CertState {}

  /** No certificate yet; a request at {@code priority} is queued or in flight. */
  public record Initializing(Priority priority) implements CertState {
    public Initializing {
      requireNonNull(priority, "priority");
    }
  }

  /** A certificate is being served (possibly while a refresh or retry is pending). */
  public record Available(WorkloadCertificate certificate) implements CertState {
    public Available {
      requireNonNull(certificate, "certificate");
    }
  }

  /** The last attempt failed and there is no valid certificate; a retry is scheduled. */
  public record Unavailable(CaException error) implements CertState {
    public Unavailable {
      requireNonNull(error, "error");
    }
  }

  private final CertificateFetcher fetcher;
  private final ScheduledExecutorService executor;
  private final Clock clock;
  private final DoubleSupplier random;
  private final Backoff backoff;
  private final int maxInFlight;

  // Executor-confined state.
  private final Map<SpiffeId, Entry> entries = new HashMap<>();
  private final List<Entry> queue = new ArrayList<>();
  private int inFlight;
  private long sequence;
  private @Nullable Thread executorThread;
  private boolean closed;

  private volatile Map<SpiffeId, CertState> snapshot = Map.of();

  SecretManager(Builder b) {
    this.fetcher = requireNonNull(b.fetcher, "fetcher");
    this.executor = requireNonNull(b.executor, "executor");
    this.clock = b.clock;
    this.random = b.random;
    this.backoff = b.backoff;
    this.maxInFlight = b.maxInFlight;
  }

  public static Builder builder() {
    return new Builder();
  }

  /** {@link #fetchCertificate(SpiffeId, Priority)} at {@link Priority#REAL_TIME}. */
  public CompletableFuture<WorkloadCertificate> fetchCertificate(SpiffeId identity) {
    return fetchCertificate(identity, Priority.REAL_TIME);
  }

  /**
   * The certificate for {@code identity}: at once when a valid one is cached, otherwise when the
   * (shared) request completes. Fails with the {@link CaException} of the state when the identity is
   * {@link Unavailable}, or with {@link CaException.Reason#FORGOTTEN}.
   */
  public CompletableFuture<WorkloadCertificate> fetchCertificate(SpiffeId identity, Priority priority) {
    requireNonNull(identity, "identity");
    requireNonNull(priority, "priority");
    CompletableFuture<WorkloadCertificate> result = new CompletableFuture<>();
    submit(() -> onFetch(identity, priority, result));
    return result;
  }

  /** Starts fetching {@code identity} at {@link Priority#WARMUP} without waiting (shared mode). */
  public void prefetch(SpiffeId identity) {
    fetchCertificate(identity, Priority.WARMUP);
  }

  /** Drops {@code identity}: see the class javadoc. */
  public void forget(SpiffeId identity) {
    requireNonNull(identity, "identity");
    submit(() -> onForget(identity));
  }

  /** Every identity's state, sorted by identity; an immutable snapshot. */
  public Map<SpiffeId, CertState> states() {
    return snapshot;
  }

  /** Cancels scheduled refreshes; pending callers fail. Does not shut down the executor. */
  @Override
  public void close() {
    submit(() -> {
      closed = true;
      for (SpiffeId id : List.copyOf(entries.keySet())) {
        onForget(id);
      }
    });
  }

  private void onFetch(SpiffeId identity, Priority priority, CompletableFuture<WorkloadCertificate> result) {
    checkOnExecutor();
    if (closed) {
      result.completeExceptionally(new CaException(CaException.Reason.FORGOTTEN, "the SecretManager is closed"));
      return;
    }
    Entry e = entries.get(identity);
    if (e == null) {
      e = new Entry(identity, new Initializing(priority));
      entries.put(identity, e);
    }
    switch (e.state) {
      case Available a when !clock.instant().isAfter(a.certificate().notAfter()) -> result.complete(a.certificate());
      case Available a -> {
        log.info("certificate for {} expired at {}; fetching a new one", identity, a.certificate().notAfter());
        e.state = new Initializing(priority);
        e.waiters.add(result);
        request(e, priority);
      }
      case Unavailable u -> result.completeExceptionally(u.error());
      case Initializing i -> {
        if (priority.compareTo(i.priority()) > 0) {
          e.state = new Initializing(priority);
        }
        e.waiters.add(result);
        request(e, priority);
      }
    }
    publish();
  }

  private void onForget(SpiffeId identity) {
    checkOnExecutor();
    Entry e = entries.remove(identity);
    if (e == null) {
      return;
    }
    e.forgotten = true;
    e.cancelTimer();
    queue.remove(e);
    e.queued = null;
    CaException error = new CaException(CaException.Reason.FORGOTTEN,
        "identity " + identity + " was forgotten while a certificate was pending");
    e.failWaiters(error);
    log.debug("forgot {}{}", identity, e.inFlight ? " (its in-flight CSR will be discarded)" : "");
    publish();
  }

  /** Queues a CSR for {@code e} at {@code priority} unless one is in flight; bumps a queued one. */
  private void request(Entry e, Priority priority) {
    checkOnExecutor();
    if (e.inFlight) {
      return;
    }
    if (e.queued != null) {
      if (priority.compareTo(e.queued) > 0) {
        log.debug("bumping the queued request for {} from {} to {}", e.identity, e.queued, priority);
        e.queued = priority;
      }
    } else {
      e.cancelTimer();
      e.queued = priority;
      e.sequence = sequence++;
      queue.add(e);
    }
    pump();
  }

  private static final Comparator<Entry> QUEUE_ORDER =
      Comparator.<Entry, Priority>comparing(e -> requireNonNull(e.queued)).reversed()
          .thenComparingLong(e -> e.sequence);

  private void pump() {
    checkOnExecutor();
    while (inFlight < maxInFlight && !queue.isEmpty()) {
      Entry next = queue.stream().min(QUEUE_ORDER).orElseThrow();
      queue.remove(next);
      start(next);
    }
  }

  private void start(Entry e) {
    checkOnExecutor();
    Priority priority = requireNonNull(e.queued);
    e.queued = null;
    e.inFlight = true;
    inFlight++;
    log.debug("requesting a certificate for {} ({}; {} in flight)", e.identity, priority, inFlight);
    CompletableFuture<WorkloadCertificate> f;
    try {
      f = fetcher.fetch(e.identity);
    } catch (RuntimeException ex) {
      f = CompletableFuture.failedFuture(ex);
    }
    f.whenComplete((cert, err) -> submit(() -> onResult(e, cert, err)));
  }

  private void onResult(Entry e, @Nullable WorkloadCertificate cert, @Nullable Throwable err) {
    checkOnExecutor();
    inFlight--;
    e.inFlight = false;
    if (e.forgotten) {
      log.debug("discarding the CSR result for forgotten identity {}", e.identity);
    } else if (cert != null && err == null) {
      onSuccess(e, cert);
    } else {
      onFailure(e, toCaException(e.identity, err));
    }
    pump();
    publish();
  }

  /**
   * Half way through the validity window (spec §8.5); but when that point has already passed — a
   * short TTL with a CA that backdates notBefore by its clock-skew allowance — half way through what
   * is left, so a fresh certificate is never refreshed at once in a loop.
   */
  static Instant refreshAt(WorkloadCertificate cert, Instant now) {
    if (cert.notBefore().isAfter(now)) {
      return now;
    }
    Instant half = cert.refreshAt();
    if (half.isAfter(now)) {
      return half;
    }
    return now.isBefore(cert.notAfter()) ? now.plus(Duration.between(now, cert.notAfter()).dividedBy(2)) : now;
  }

  private void onSuccess(Entry e, WorkloadCertificate cert) {
    e.failures = 0;
    e.lastError = null;
    e.state = new Available(cert);
    e.completeWaiters(cert);
    Instant now = clock.instant();
    Instant refreshAt = refreshAt(cert, now);
    log.debug("certificate for {} valid until {}; refresh at {}", e.identity, cert.notAfter(), refreshAt);
    scheduleRequest(e, Duration.between(now, refreshAt));
  }

  private void onFailure(Entry e, CaException error) {
    e.failures++;
    Duration delay = backoff.delay(e.failures, random.getAsDouble());
    Instant now = clock.instant();
    e.lastError = error;
    // Strictly before expiry: at not_after itself a zero-delay retry would spin.
    if (e.state instanceof Available a && now.isBefore(a.certificate().notAfter())) {
      Duration untilExpiry = Duration.between(now, a.certificate().notAfter());
      if (untilExpiry.compareTo(delay) < 0) {
        delay = untilExpiry;
      }
      log.warn("refreshing the certificate for {} failed (attempt {}), still serving the current one until {}; "
          + "retrying in {}: {}", e.identity, e.failures, a.certificate().notAfter(), delay, error.getMessage());
      e.completeWaiters(a.certificate());
    } else {
      log.warn("fetching a certificate for {} failed (attempt {}); retrying in {}: {}",
          e.identity, e.failures, delay, error.getMessage());
      e.state = new Unavailable(error);
      e.failWaiters(error);
    }
    scheduleRequest(e, delay);
  }

  /** A {@link Priority#BACKGROUND} request for {@code e} after {@code delay} (replacing any earlier timer). */
  private void scheduleRequest(Entry e, Duration delay) {
    e.cancelTimer();
    long nanos = Math.max(0, delay.toNanos());
    e.timer = executor.schedule(() -> runSerial(() -> {
      e.timer = null;
      if (!e.forgotten) {
        if (e.state instanceof Available a && !clock.instant().isBefore(a.certificate().notAfter())) {
          // The retry scheduled at expiry: stop advertising a certificate that is no longer valid.
          CaException last = e.lastError;
          e.state = last != null ? new Unavailable(last) : new Initializing(Priority.BACKGROUND);
        }
        request(e, Priority.BACKGROUND);
        publish();
      }
    }), nanos, TimeUnit.NANOSECONDS);
  }

  private static CaException toCaException(SpiffeId identity, @Nullable Throwable err) {
    Throwable t = err instanceof CompletionException && err.getCause() != null ? err.getCause() : err;
    if (t instanceof CaException ca) {
      return ca;
    }
    return new CaException(CaException.Reason.CA_CALL_FAILED,
        "fetching a certificate for " + identity + " failed: " + t, t);
  }

  private void publish() {
    Map<SpiffeId, CertState> m = new TreeMap<>(Comparator.comparing(SpiffeId::toString));
    entries.forEach((id, e) -> m.put(id, e.state));
    snapshot = java.util.Collections.unmodifiableMap(m);
  }

  private void submit(Runnable task) {
    executor.execute(() -> runSerial(task));
  }

  private void runSerial(Runnable task) {
    Thread previous = executorThread;
    executorThread = Thread.currentThread();
    try {
      task.run();
    } catch (RuntimeException e) {
      log.error("SecretManager task failed", e);
    } finally {
      executorThread = previous;
    }
  }

  private void checkOnExecutor() {
    if (executorThread != Thread.currentThread()) {
      throw new IllegalStateException("SecretManager state touched outside its serial executor");
    }
  }

  /** One identity. Executor-confined. */
  private static final class Entry {
    final SpiffeId identity;
    CertState state;
    final List<CompletableFuture<WorkloadCertificate>> waiters = new ArrayList<>();
    @Nullable Priority queued;
    long sequence;
    boolean inFlight;
    boolean forgotten;
    int failures;
    @Nullable CaException lastError;
    @Nullable ScheduledFuture<?> timer;

    Entry(SpiffeId identity, CertState state) {
      this.identity = identity;
      this.state = state;
    }

    void cancelTimer() {
      if (timer != null) {
        timer.cancel(false);
        timer = null;
      }
    }

    void completeWaiters(WorkloadCertificate cert) {
      List<CompletableFuture<WorkloadCertificate>> w = List.copyOf(waiters);
      waiters.clear();
      w.forEach(f -> f.complete(cert));
    }

    void failWaiters(CaException error) {
      List<CompletableFuture<WorkloadCertificate>> w = List.copyOf(waiters);
      waiters.clear();
      w.forEach(f -> f.completeExceptionally(error));
    }
  }

  /** Builds a {@link SecretManager}. Required: {@link #fetcher} and {@link #executor}. */
  public static final class Builder {
    private @Nullable CertificateFetcher fetcher;
    private @Nullable ScheduledExecutorService executor;
    private Clock clock = Clock.systemUTC();
    private DoubleSupplier random = () -> ThreadLocalRandom.current().nextDouble();
    private Backoff backoff = Backoff.CSR_DEFAULT;
    private int maxInFlight = DEFAULT_MAX_IN_FLIGHT;

    Builder() {}

    /** Where CSRs go, normally a {@link CaClient}. */
    public Builder fetcher(CertificateFetcher fetcher) {
      this.fetcher = requireNonNull(fetcher, "fetcher");
      return this;
    }

    /** The serial executor that owns all state and runs the timers; it must run one task at a time. */
    public Builder executor(ScheduledExecutorService executor) {
      this.executor = requireNonNull(executor, "executor");
      return this;
    }

    /** Decides expiry and refresh times; default the system UTC clock. It must agree with the executor's delays. */
    public Builder clock(Clock clock) {
      this.clock = requireNonNull(clock, "clock");
      return this;
    }

    /** Uniform samples in {@code [0, 1)} for the backoff jitter. */
    public Builder random(DoubleSupplier random) {
      this.random = requireNonNull(random, "random");
      return this;
    }

    public Builder backoff(Backoff backoff) {
      this.backoff = requireNonNull(backoff, "backoff");
      return this;
    }

    /** Concurrent CSRs; default 8. */
    public Builder maxInFlight(int maxInFlight) {
      if (maxInFlight < 1) {
        throw new IllegalArgumentException("maxInFlight must be >= 1, was " + maxInFlight);
      }
      this.maxInFlight = maxInFlight;
      return this;
    }

    public SecretManager build() {
      if (fetcher == null || executor == null) {
        throw new IllegalStateException("SecretManager needs a fetcher and an executor");
      }
      return new SecretManager(this);
    }
  }
}
