package dev.ambient.ztunnel.proxy;

import static java.util.Objects.requireNonNull;

import dev.ambient.xds.client.Workload;
import dev.ambient.ztunnel.ZtunnelConfig.WorkloadInfo;
import dev.ambient.ztunnel.state.ProxyState;
import dev.ambient.ztunnel.state.StateHolder;
import java.time.Duration;
import java.util.Comparator;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;

/**
 * The workload a proxy serves, found in xDS by its {@link WorkloadInfo} (name, namespace, service
 * account; spec §5.0). The lookup is cached per published snapshot, so the data path pays one
 * volatile read and a reference compare. Until xDS delivers the workload, callers wait up to 5 s
 * ({@link #DEFAULT_WAIT}) and then reject the connection ({@code UnknownSourceWorkload}).
 */
public final class LocalWorkload {
  public static final Duration DEFAULT_WAIT = Duration.ofSeconds(5);
  private static final long POLL_MILLIS = 20;

  private final StateHolder state;
  private final WorkloadInfo info;
  private volatile @Nullable Cached cached;

  private record Cached(ProxyState state, Optional<Workload> workload) {}

  public LocalWorkload(StateHolder state, WorkloadInfo info) {
    this.state = requireNonNull(state, "state");
    this.info = requireNonNull(info, "info");
  }

  public WorkloadInfo info() {
    return info;
  }

  /** The workload in the current snapshot, if xDS has it. */
  public Optional<Workload> current() {
    ProxyState s = state.current();
    Cached c = cached;
    if (c != null && c.state == s) {
      return c.workload;
    }
    Optional<Workload> found = find(s, info);
    cached = new Cached(s, found);
    return found;
  }

  /**
   * The workload, waiting up to {@code timeout} for xDS to deliver it; fails with {@link
   * UnknownWorkloadException} after that.
   */
  public CompletableFuture<Workload> await(ScheduledExecutorService executor, Duration timeout) {
    Optional<Workload> now = current();
    if (now.isPresent()) {
      return CompletableFuture.completedFuture(now.get());
    }
    CompletableFuture<Workload> result = new CompletableFuture<>();
    long deadline = System.nanoTime() + timeout.toNanos();
    poll(executor, deadline, result);
    return result;
  }

  private void poll(ScheduledExecutorService executor, long deadline, CompletableFuture<Workload> result) {
    executor.schedule(() -> {
      Optional<Workload> w = current();
      if (w.isPresent()) {
        result.complete(w.get());
      } else if (System.nanoTime() - deadline >= 0) {
        result.completeExceptionally(new UnknownWorkloadException(info));
      } else {
        poll(executor, deadline, result);
      }
    }, POLL_MILLIS, TimeUnit.MILLISECONDS);
  }

  /**
   * The workload matching {@code info} by name, namespace and service account; when several match
   * (a stale entry during a restart), the smallest uid, so every caller picks the same one.
   */
  static Optional<Workload> find(ProxyState state, WorkloadInfo info) {
    return state.workloads().stream()
        .filter(w -> w.name().equals(info.name())
            && w.namespace().equals(info.namespace())
            && w.serviceAccount().equals(info.serviceAccount()))
        .min(Comparator.comparing(Workload::uid));
  }

  /** xDS did not deliver the proxy's own workload in time. */
  public static final class UnknownWorkloadException extends RuntimeException {
    public UnknownWorkloadException(WorkloadInfo info) {
      super("unknown local workload " + info.namespace() + "/" + info.name()
          + " (service account " + info.serviceAccount() + ") not found in xDS");
    }
  }
}
