package dev.ambient.ztunnel.inpod;

import static java.util.Objects.requireNonNull;

import dev.ambient.identity.SpiffeId;
import dev.ambient.xds.client.Workload;
import dev.ambient.ztunnel.ZtunnelConfig.WorkloadInfo;
import dev.ambient.ztunnel.admin.Readiness;
import dev.ambient.ztunnel.admin.WorkloadStateDump;
import dev.ambient.ztunnel.proxy.WorkloadCertificates;
import dev.ambient.ztunnel.state.StateHolder;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The in-pod proxies of this node, keyed by ZDS pod uid (spec §7.2): starts one proxy per added
 * pod, keeps adds idempotent (same netns), replaces a proxy whose pod got a new netns, closes a
 * deleted pod's proxy at once, and after {@code SnapshotSent} removes every proxy the snapshot did
 * not mention. A pod whose listeners cannot bind is acked with the error and kept <em>pending</em>,
 * retried every 5 s. A pod whose workload is not in xDS yet gets its proxy all the same (spec §7.2:
 * starting the proxy is creating its listeners; the pod's IP, and so its workload, usually appears
 * only after the CNI ADD that announces it).
 *
 * <p>Also: certificate prefetch for the identities of local HBONE pods (forgotten when the last pod
 * with an identity goes), the {@code workload_manager_*} metrics (§9.2), the {@code workloadState}
 * of the config dump (§9.5) and the readiness task {@value #READINESS_TASK}: pending until the
 * current connection's snapshot is in and no pod is pending (again pending on disconnect).
 *
 * <p>Thread-safe: the ZDS thread, the retry timer and the drain call in under one lock.
 */
public final class WorkloadManager implements ZdsHandler, AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(WorkloadManager.class);
  public static final String READINESS_TASK = "workload proxy manager";
  public static final Duration RETRY_INTERVAL = Duration.ofSeconds(5);

  /** The workload xDS has for a pod: its identity and whether it speaks HBONE. */
  record LocalPod(SpiffeId identity, boolean hbone) {}

  private record Running(WorkloadInfo info, PodNetns netns, PodProxy proxy, Optional<SpiffeId> identity) {}

  private record Pending(WorkloadInfo info, PodNetns netns, String error) {}

  private final PodProxy.Factory factory;
  private final Function<WorkloadInfo, Optional<LocalPod>> lookup;
  private final WorkloadCertificates certificates;
  private final Readiness readiness;
  private final Counter started;
  private final Counter stopped;
  private final Map<String, Running> running = new HashMap<>();
  private final Map<String, Pending> pending = new HashMap<>();
  private final Map<SpiffeId, Integer> identities = new HashMap<>();
  private final Set<String> snapshot = new HashSet<>();
  private final @Nullable ScheduledFuture<?> retries;
  private boolean connected;
  private boolean snapshotDone;
  private boolean closed;
  private Readiness.@Nullable Task notReady;

  WorkloadManager(PodProxy.Factory factory, Function<WorkloadInfo, Optional<LocalPod>> lookup,
      WorkloadCertificates certificates, MeterRegistry registry, Readiness readiness,
      @Nullable ScheduledExecutorService retryExecutor, Duration retryInterval) {
    this.factory = requireNonNull(factory, "factory");
    this.lookup = requireNonNull(lookup, "lookup");
    this.certificates = requireNonNull(certificates, "certificates");
    this.readiness = requireNonNull(readiness, "readiness");
    this.notReady = readiness.register(READINESS_TASK);
    Gauge.builder("workload_manager_active_proxy_count", this, WorkloadManager::activeCount).strongReference(true)
        .description("The total number current workloads with active proxies").register(registry);
    Gauge.builder("workload_manager_pending_proxy_count", this, WorkloadManager::pendingCount).strongReference(true)
        .description("The total number current workloads with pending proxies").register(registry);
    this.started = Counter.builder("workload_manager_proxies_started")
        .description("The total number of proxies that were started").register(registry);
    this.stopped = Counter.builder("workload_manager_proxies_stopped")
        .description("The total number of proxies that were stopped").register(registry);
    this.retries = retryExecutor == null ? null : retryExecutor.scheduleWithFixedDelay(this::retryPending,
        retryInterval.toMillis(), retryInterval.toMillis(), TimeUnit.MILLISECONDS);
  }

  /**
   * The manager of a running ztunnel: pods are matched to xDS workloads by name, namespace and
   * service account (spec §7.5), preferring workloads on {@code nodeName} when it is known.
   */
  public static WorkloadManager create(InPodProxies proxies, StateHolder state, Optional<String> nodeName,
      WorkloadCertificates certificates, MeterRegistry registry, Readiness readiness,
      ScheduledExecutorService retryExecutor) {
    return new WorkloadManager(proxies, info -> find(state, nodeName, info), certificates, registry, readiness,
        retryExecutor, RETRY_INTERVAL);
  }

  static Optional<LocalPod> find(StateHolder state, Optional<String> nodeName, WorkloadInfo info) {
    return state.current().workloads().stream()
        .filter(w -> w.name().equals(info.name()) && w.namespace().equals(info.namespace())
            && w.serviceAccount().equals(info.serviceAccount()))
        .min(Comparator.<Workload, Boolean>comparing(w -> nodeName.map(n -> !n.equals(w.node())).orElse(false))
            .thenComparing(Workload::uid))
        .map(w -> new LocalPod(w.identity(), w.tunnelProtocol() == Workload.TunnelProtocol.HBONE));
  }

  @Override
  public synchronized void connected() {
    connected = true;
    snapshotDone = false;
    snapshot.clear();
    updateReadiness();
  }

  @Override
  public synchronized Optional<String> add(String uid, WorkloadInfo info, PodNetns netns) {
    if (closed) {
      netns.close();
      return Optional.of("ztunnel is shutting down");
    }
    if (!snapshotDone) {
      snapshot.add(uid);
    }
    Running current = running.get(uid);
    if (current != null) {
      if (current.netns().id().equals(netns.id())) {
        netns.close();
        log.debug("pod {} already has a proxy in {}", uid, current.netns());
        return Optional.empty();
      }
      log.info("pod {} has a new network namespace ({} -> {}): replacing its proxy", uid, current.netns(), netns);
      stop(uid);
    }
    dropPending(uid);
    Optional<String> error = start(uid, info, netns);
    updateReadiness();
    return error;
  }

  @Override
  public synchronized void keep(String uid) {
    if (!snapshotDone) {
      snapshot.add(uid);
    }
  }

  @Override
  public synchronized void delete(String uid) {
    dropPending(uid);
    if (!snapshotDone) {
      snapshot.remove(uid); // a running proxy goes at the reconcile
    } else {
      stop(uid);
    }
    updateReadiness();
  }

  @Override
  public synchronized void snapshotSent() {
    for (String uid : List.copyOf(running.keySet())) {
      if (!snapshot.contains(uid)) {
        log.info("pod {} is not in the node agent's snapshot: removing its proxy", uid);
        stop(uid);
      }
    }
    for (String uid : List.copyOf(pending.keySet())) {
      if (!snapshot.contains(uid)) {
        dropPending(uid);
      }
    }
    snapshotDone = true;
    snapshot.clear();
    log.info("ZDS snapshot reconciled: {} proxies running, {} pending", running.size(), pending.size());
    updateReadiness();
  }

  @Override
  public synchronized void disconnected() {
    connected = false;
    snapshotDone = false;
    updateReadiness();
  }

  /** Tries every pending pod again (the 5 s timer). */
  synchronized void retryPending() {
    if (closed || pending.isEmpty()) {
      return;
    }
    for (String uid : List.copyOf(pending.keySet())) {
      Pending p = requireNonNull(pending.remove(uid));
      start(uid, p.info(), p.netns()).ifPresent(e -> log.debug("pod {} still pending: {}", uid, e));
    }
    updateReadiness();
  }

  /** Starts the proxy, or records the pod as pending; returns the error for the ack. */
  private Optional<String> start(String uid, WorkloadInfo info, PodNetns netns) {
    // The pod's workload is usually not in xDS yet: its IP becomes known with this very CNI ADD. The proxy
    // starts anyway (its listeners look the workload up per connection); only the prefetch needs it.
    Optional<LocalPod> workload = lookup.apply(info);
    PodProxy proxy;
    try {
      proxy = factory.start(uid, info, netns);
    } catch (Exception e) {
      return toPending(uid, info, netns, "cannot start the proxy of pod " + uid + " (" + describe(info) + "): " + e.getMessage());
    }
    Optional<SpiffeId> identity = workload.filter(LocalPod::hbone).map(LocalPod::identity);
    identity.ifPresent(id -> {
      if (identities.merge(id, 1, Integer::sum) == 1) {
        certificates.prefetch(id);
      }
    });
    running.put(uid, new Running(info, netns, proxy, identity));
    started.increment();
    log.info("proxy started for pod {} ({}) in {}", uid, describe(info), netns);
    return Optional.empty();
  }

  private Optional<String> toPending(String uid, WorkloadInfo info, PodNetns netns, String error) {
    log.warn("pod {} pending, retried every {} s: {}", uid, RETRY_INTERVAL.toSeconds(), error);
    pending.put(uid, new Pending(info, netns, error));
    return Optional.of(error);
  }

  /** Immediate drain of a pod's proxy (pod deleted or replaced). */
  private void stop(String uid) {
    Running r = running.remove(uid);
    if (r == null) {
      return;
    }
    try {
      r.proxy().close();
    } finally {
      r.netns().close();
      release(r);
    }
    log.info("proxy stopped for pod {} ({})", uid, describe(r.info()));
  }

  private void release(Running r) {
    stopped.increment();
    r.identity().ifPresent(id -> {
      if (identities.merge(id, -1, Integer::sum) <= 0) {
        identities.remove(id);
        certificates.forget(id);
      }
    });
  }

  private void dropPending(String uid) {
    Pending p = pending.remove(uid);
    if (p != null) {
      p.netns().close();
    }
  }

  private void updateReadiness() {
    boolean ready = connected && snapshotDone && pending.isEmpty();
    if (ready && notReady != null) {
      notReady.done();
      notReady = null;
    } else if (!ready && notReady == null && !closed) {
      notReady = readiness.register(READINESS_TASK);
    }
  }

  private static String describe(WorkloadInfo info) {
    return info.namespace() + "/" + info.name() + " (service account " + info.serviceAccount() + ")";
  }

  /** The {@code workloadState} of {@code /config_dump}: uid to Up or Pending (spec §9.5). */
  public synchronized Map<String, WorkloadStateDump> workloadState() {
    Map<String, WorkloadStateDump> out = new TreeMap<>();
    running.forEach((uid, r) -> out.put(uid, new WorkloadStateDump("Up", describe(r.info()), List.of(), List.of())));
    pending.forEach((uid, p) -> out.put(uid,
        new WorkloadStateDump("Pending", describe(p.info()) + ": " + p.error(), List.of(), List.of())));
    return out;
  }

  /** The uids with a running proxy. */
  public synchronized Set<String> runningPods() {
    return Set.copyOf(running.keySet());
  }

  /** The uids waiting for a retry. */
  public synchronized Set<String> pendingPods() {
    return Set.copyOf(pending.keySet());
  }

  private synchronized double activeCount() {
    return running.size();
  }

  private synchronized double pendingCount() {
    return pending.size();
  }

  /**
   * Graceful drain of every pod proxy (ztunnel shutdown, spec §9.6): stop accepting, give
   * connections up to {@code deadline}, close. Later adds are refused.
   */
  public CompletableFuture<Void> drain(Duration deadline) {
    List<Map.Entry<String, Running>> toDrain;
    synchronized (this) {
      closed = true;
      if (retries != null) {
        retries.cancel(false);
      }
      toDrain = new ArrayList<>(running.entrySet());
      running.clear();
      List.copyOf(pending.keySet()).forEach(this::dropPending);
    }
    List<CompletableFuture<Void>> drains = new ArrayList<>();
    for (Map.Entry<String, Running> e : toDrain) {
      Running r = e.getValue();
      CompletableFuture<Void> d;
      try {
        d = r.proxy().drain(deadline);
      } catch (RuntimeException ex) {
        log.warn("draining the proxy of pod {}: {}", e.getKey(), ex.toString());
        d = CompletableFuture.completedFuture(null);
      }
      drains.add(d.whenComplete((v, t) -> {
        r.netns().close();
        synchronized (this) {
          release(r);
        }
      }));
    }
    return CompletableFuture.allOf(drains.toArray(CompletableFuture[]::new));
  }

  /** Immediate close of every pod proxy. */
  @Override
  public void close() {
    List<String> uids;
    synchronized (this) {
      closed = true;
      if (retries != null) {
        retries.cancel(false);
      }
      uids = List.copyOf(running.keySet());
      uids.forEach(this::stop);
      List.copyOf(pending.keySet()).forEach(this::dropPending);
    }
  }
}
