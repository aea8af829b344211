package dev.ambient.ztunnel.authz;

import static dev.ambient.ztunnel.authz.AuthzFixtures.*;
import static org.assertj.core.api.Assertions.assertThat;

import dev.ambient.identity.SpiffeId;
import dev.ambient.xds.client.Authorization.Action;
import dev.ambient.xds.client.Authorization.Scope;
import dev.ambient.xds.client.Workload;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** Re-evaluation of live connections after a policy change (spec §6.6). */
class AuthzLiveConnectionsTest {
  private static final SpiffeId GOOD = SpiffeId.of("cluster.local", "good", "sa");
  private static final SpiffeId BAD = SpiffeId.of("cluster.local", "bad", "sa");

  private final Authorizer authorizer = Authorizer.create();
  private final List<LiveConnections.Revoked> reported = new ArrayList<>();
  private final LiveConnections live = new LiveConnections(authorizer, reported::add);

  private AuthorizedConnection accept(Connection c, Workload dst, PolicyIndex index) {
    return assertAllowed(authorizer.authorize(c, dst, index));
  }

  private static PolicyIndex denyNamespace(String ns) {
    return index(deny("server-ns", "deny-" + ns, ruleOf(match().namespaces(exact(ns)).build())));
  }

  @Test
  void reevaluate_policyNowDeniesSome_closesExactlyThose() {
    AtomicInteger goodClosed = new AtomicInteger();
    AtomicInteger badClosed = new AtomicInteger();
    AtomicInteger plainClosed = new AtomicInteger();
    AuthorizedConnection bad = accept(from(BAD), server(), PolicyIndex.EMPTY);
    live.register(accept(from(GOOD), server(), PolicyIndex.EMPTY), goodClosed::incrementAndGet);
    LiveConnections.Registration badReg = live.register(bad, badClosed::incrementAndGet);
    live.register(accept(plaintext(), server(), PolicyIndex.EMPTY), plainClosed::incrementAndGet);

    List<LiveConnections.Revoked> revoked = live.reevaluate(denyNamespace("bad"), uid -> null);

    assertThat(revoked).singleElement().satisfies(r -> {
      assertThat(r.connection()).isSameAs(bad);
      assertThat(r.flag()).isEqualTo("DENY");
      assertThat(r.deny().policy()).contains("server-ns/deny-bad");
      assertThat(r.error()).startsWith("connection closed due to policy change");
    });
    assertThat(reported).isEqualTo(revoked);
    assertThat(List.of(goodClosed.get(), badClosed.get(), plainClosed.get())).containsExactly(0, 1, 0);
    assertThat(badReg.revoked()).isTrue();
    assertThat(live.size()).isEqualTo(2);
  }

  @Test
  void reevaluate_allowPolicyAdded_closesUnmatchedPlaintext() {
    AtomicInteger goodClosed = new AtomicInteger();
    AtomicInteger plainClosed = new AtomicInteger();
    live.register(accept(from(GOOD), server(), PolicyIndex.EMPTY), goodClosed::incrementAndGet);
    live.register(accept(plaintext(), server(), PolicyIndex.EMPTY), plainClosed::incrementAndGet);

    live.reevaluate(index(allow("server-ns", "a", ruleOf(match().principals(presence()).build()))), uid -> null);

    assertThat(goodClosed).hasValue(0);
    assertThat(plainClosed).hasValue(1);
  }

  @Test
  void reevaluate_stillAllowed_nothingClosed() {
    AtomicInteger closed = new AtomicInteger();
    live.register(accept(from(GOOD), server(), PolicyIndex.EMPTY), closed::incrementAndGet);

    assertThat(live.reevaluate(denyNamespace("bad"), uid -> null)).isEmpty();
    assertThat(closed).hasValue(0);
    assertThat(live.size()).isEqualTo(1);
  }

  @Test
  void reevaluate_unregisteredConnection_notClosed() {
    AtomicInteger closed = new AtomicInteger();
    LiveConnections.Registration reg = live.register(accept(from(BAD), server(), PolicyIndex.EMPTY), closed::incrementAndGet);
    reg.close();

    assertThat(live.reevaluate(denyNamespace("bad"), uid -> null)).isEmpty();
    assertThat(closed).hasValue(0);
    assertThat(live.size()).isZero();
  }

  @Test
  void reevaluate_twice_closesOnce() {
    AtomicInteger closed = new AtomicInteger();
    live.register(accept(from(BAD), server(), PolicyIndex.EMPTY), closed::incrementAndGet);

    live.reevaluate(denyNamespace("bad"), uid -> null);
    live.reevaluate(denyNamespace("bad"), uid -> null);

    assertThat(closed).hasValue(1);
    assertThat(reported).hasSize(1);
  }

  @Test
  void reevaluate_staleIndex_ignored() {
    PolicyIndex older = denyNamespace("bad");
    PolicyIndex newer = index(); // built later: a newer generation
    AtomicInteger closed = new AtomicInteger();
    live.register(accept(from(BAD), server(), PolicyIndex.EMPTY), closed::incrementAndGet);

    live.reevaluate(newer, uid -> null);
    List<LiveConnections.Revoked> revoked = live.reevaluate(older, uid -> null);

    assertThat(revoked).isEmpty();
    assertThat(closed).hasValue(0);
  }

  @Test
  void register_afterNewerPolicyApplied_deniedConnectionClosedAtOnce() {
    PolicyIndex atAccept = index();
    AuthorizedConnection bad = accept(from(BAD), server(), atAccept);
    live.reevaluate(denyNamespace("bad"), uid -> null); // the change lands between check and register
    AtomicInteger closed = new AtomicInteger();

    LiveConnections.Registration reg = live.register(bad, closed::incrementAndGet);

    assertThat(closed).hasValue(1);
    assertThat(reg.revoked()).isTrue();
    assertThat(reported).singleElement().extracting(LiveConnections.Revoked::connection).isSameAs(bad);
    assertThat(live.size()).isZero();
  }

  @Test
  void register_authorizedUnderLatestPolicy_notRechecked() {
    PolicyIndex latest = denyNamespace("other");
    live.reevaluate(latest, uid -> null);
    AtomicInteger closed = new AtomicInteger();

    LiveConnections.Registration reg = live.register(accept(from(BAD), server(), latest), closed::incrementAndGet);

    assertThat(closed).hasValue(0);
    assertThat(reg.revoked()).isFalse();
    assertThat(live.size()).isEqualTo(1);
  }

  @Test
  void reevaluate_usesCurrentWorkloadFromLookup() {
    PolicyIndex index = index(policy("server-ns", "sel", Scope.WORKLOAD_SELECTOR, Action.DENY,
        ruleOf(match().namespaces(exact("bad")).build())));
    AtomicInteger closed = new AtomicInteger();
    live.register(accept(from(BAD), server(), PolicyIndex.EMPTY), closed::incrementAndGet);
    Workload nowSelected = workload("server", "server-ns", "server-ns/sel");

    live.reevaluate(index, Map.of("server", nowSelected)::get);

    assertThat(closed).hasValue(1);
  }

  @Test
  void reevaluate_workloadGone_usesAcceptSnapshot() {
    PolicyIndex index = index(policy("server-ns", "sel", Scope.WORKLOAD_SELECTOR, Action.DENY,
        ruleOf(match().namespaces(exact("bad")).build())));
    AtomicInteger selectedClosed = new AtomicInteger();
    AtomicInteger unselectedClosed = new AtomicInteger();
    live.register(accept(from(BAD), workload("w1", "server-ns", "server-ns/sel"), PolicyIndex.EMPTY),
        selectedClosed::incrementAndGet);
    live.register(accept(from(BAD), workload("w2", "server-ns"), PolicyIndex.EMPTY),
        unselectedClosed::incrementAndGet);

    live.reevaluate(index, uid -> null);

    assertThat(selectedClosed).hasValue(1);
    assertThat(unselectedClosed).hasValue(0);
  }

  @Test
  void registerConcurrentWithReevaluate_everyDeniedConnectionClosedOnce() throws Exception {
    int threads = 4;
    int perThread = 500;
    PolicyIndex atAccept = index();
    Map<Integer, AtomicInteger> closes = new ConcurrentHashMap<>();
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    CountDownLatch start = new CountDownLatch(1);
    try {
      List<Future<?>> futures = new ArrayList<>();
      for (int t = 0; t < threads; t++) {
        int base = t * perThread;
        futures.add(pool.submit(() -> {
          start.await();
          for (int i = 0; i < perThread; i++) {
            AtomicInteger counter = new AtomicInteger();
            closes.put(base + i, counter);
            Connection c = new Connection(ip("198.19.2.3"), 1000 + i, ip(DST_IP), DST_PORT, Optional.of(BAD), "net1");
            live.register(accept(c, server(), atAccept), counter::incrementAndGet);
          }
          return null;
        }));
      }
      start.countDown();
      live.reevaluate(denyNamespace("bad"), uid -> null);
      for (Future<?> f : futures) {
        f.get(30, TimeUnit.SECONDS);
      }
    } finally {
      pool.shutdownNow();
    }

    assertThat(closes).hasSize(threads * perThread);
    assertThat(closes.values()).allSatisfy(c -> assertThat(c).hasValue(1));
    assertThat(live.size()).isZero();
  }
}
