package dev.ambient.ztunnel.runtime;

import static java.util.Objects.requireNonNull;

import dev.ambient.xds.client.Authorization;
import dev.ambient.xds.client.XdsUpdate;
import dev.ambient.xds.client.XdsWatcher;
import dev.ambient.ztunnel.authz.LiveConnections;
import dev.ambient.ztunnel.authz.PolicyIndex;
import dev.ambient.ztunnel.state.ProxyState;
import dev.ambient.ztunnel.state.StateHolder;
import dev.ambient.ztunnel.state.StateUpdater;
import io.grpc.Status;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Applies xDS (or local-file) updates: addresses into the {@link StateHolder} snapshot, policies into
 * a new {@link PolicyIndex}, and — when policies changed — re-evaluation of live connections (spec
 * §2.5, §2.8, §6.6). Updates arrive one at a time (the xDS client's serial executor), so the mutable
 * maps here are only touched by one thread; readers see the published immutable snapshots.
 */
public final class StateFeed implements XdsWatcher {
  private static final Logger log = LoggerFactory.getLogger(StateFeed.class);

  private final StateHolder state = new StateHolder();
  private final StateUpdater updater = new StateUpdater(state);
  private final Map<String, Authorization> policyMap = new HashMap<>();
  private final LiveConnections live;
  private final CompletableFuture<Void> firstUpdate = new CompletableFuture<>();
  private volatile PolicyIndex policies = PolicyIndex.EMPTY;

  public StateFeed(LiveConnections live) {
    this.live = requireNonNull(live, "live");
  }

  /** The address state read by the proxy paths. */
  public StateHolder state() {
    return state;
  }

  /** The current policy index (one volatile read). */
  public PolicyIndex policies() {
    return policies;
  }

  /** {@link #policies()} as a supplier, for {@code ProxyInputs}. */
  public Supplier<PolicyIndex> policySupplier() {
    return this::policies;
  }

  /** Completes after the first update was applied. */
  public CompletableFuture<Void> firstUpdate() {
    return firstUpdate;
  }

  @Override
  public void onUpdate(XdsUpdate update) {
    ProxyState next = updater.apply(update);
    if (update.policiesChanged()) {
      policyMap.putAll(update.authorizations());
      policyMap.keySet().removeAll(update.removedAuthorizations());
      PolicyIndex index = PolicyIndex.of(policyMap);
      policies = index;
      List<LiveConnections.Revoked> revoked = live.reevaluate(index, uid -> next.workload(uid).orElse(null));
      if (!revoked.isEmpty()) {
        log.info("policy change closed {} connection(s)", revoked.size());
      }
    }
    firstUpdate.complete(null);
  }

  @Override
  public void onAmbientError(Status status) {
    log.warn("xDS: {} (serving the last known state: {} workloads, {} services, {} policies)",
        status, state.current().workloadCount(), state.current().serviceCount(), policies.size());
  }
}
