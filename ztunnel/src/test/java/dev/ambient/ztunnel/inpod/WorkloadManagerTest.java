package dev.ambient.ztunnel.inpod;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ambient.identity.HboneTls;
import dev.ambient.identity.SpiffeId;
import dev.ambient.ztunnel.ZtunnelConfig.WorkloadInfo;
import dev.ambient.ztunnel.admin.Readiness;
import dev.ambient.ztunnel.proxy.WorkloadCertificates;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** The in-pod workload manager's state machine (spec §7.2) with fake proxies, as a table of event sequences. */
class WorkloadManagerTest {

  /** One fake pod proxy: what happened to it. */
  static final class FakeProxy implements PodProxy {
    final String uid;
    final NetnsId netns;
    boolean closed;
    boolean drained;

    FakeProxy(String uid, NetnsId netns) {
      this.uid = uid;
      this.netns = netns;
    }

    @Override
    public void close() {
      closed = true;
    }

    @Override
    public CompletableFuture<Void> drain(Duration deadline) {
      drained = true;
      closed = true;
      return CompletableFuture.completedFuture(null);
    }
  }

  /** The manager with fake proxies, fake xDS (a set of known pod names) and recording certificates. */
  static final class Env {
    final List<FakeProxy> proxies = new ArrayList<>();
    final Set<String> failing = new HashSet<>();
    final Set<String> inXds = new HashSet<>(Set.of("a", "b", "c"));
    final List<String> certificateCalls = new ArrayList<>();
    final Map<String, String> acks = new LinkedHashMap<>();
    final SimpleMeterRegistry registry = new SimpleMeterRegistry();
    final Readiness readiness = new Readiness();
    final WorkloadManager manager;

    Env() {
      WorkloadCertificates certs = new WorkloadCertificates() {
        @Override
        public CompletableFuture<HboneTls> tls(SpiffeId identity) {
          return CompletableFuture.failedFuture(new IOException("not in this test"));
        }

        @Override
        public void prefetch(SpiffeId identity) {
          certificateCalls.add("prefetch " + identity);
        }

        @Override
        public void forget(SpiffeId identity) {
          certificateCalls.add("forget " + identity);
        }
      };
      manager = new WorkloadManager((uid, info, netns) -> {
        if (failing.contains(uid)) {
          throw new IOException("bind(0.0.0.0:15008): Address already in use");
        }
        FakeProxy p = new FakeProxy(uid, netns.id());
        proxies.add(p);
        return p;
      }, info -> inXds.contains(info.name())
          // pods a and b share a service account (one identity); c has its own
          ? Optional.of(new WorkloadManager.LocalPod(SpiffeId.of("cluster.local", "ns", info.serviceAccount()), true))
          : Optional.empty(), certs, registry, readiness, null, Duration.ofSeconds(5));
    }

    List<FakeProxy> of(String uid) {
      return proxies.stream().filter(p -> p.uid.equals(uid)).toList();
    }

    double gauge(String name) {
      return registry.get(name).gauge().value();
    }

    double counter(String name) {
      return registry.get(name).counter().count();
    }
  }

  static WorkloadInfo info(String uid) {
    return new WorkloadInfo("ns", uid, uid.equals("c") ? "sa-c" : "sa");
  }

  static PodNetns netns(int inode) {
    return new PodNetns(new NetnsId(4, inode), null);
  }

  static Consumer<Env> connect() {
    return e -> e.manager.connected();
  }

  static Consumer<Env> add(String uid, int inode) {
    return e -> e.acks.put(uid, e.manager.add(uid, info(uid), netns(inode)).orElse("ok"));
  }

  static Consumer<Env> keep(String uid) {
    return e -> e.manager.keep(uid);
  }

  static Consumer<Env> del(String uid) {
    return e -> e.manager.delete(uid);
  }

  static Consumer<Env> snapshot() {
    return e -> e.manager.snapshotSent();
  }

  static Consumer<Env> disconnect() {
    return e -> e.manager.disconnected();
  }

  static Consumer<Env> fail(String uid) {
    return e -> e.failing.add(uid);
  }

  static Consumer<Env> heal(String uid) {
    return e -> e.failing.remove(uid);
  }

  static Consumer<Env> xdsLearns(String name) {
    return e -> e.inXds.add(name);
  }

  static Consumer<Env> retry() {
    return e -> e.manager.retryPending();
  }

  @SafeVarargs
  static List<Consumer<Env>> steps(Consumer<Env>... s) {
    return List.of(s);
  }

  /**
   * @param proxiesStarted how many proxies the factory made in total
   * @param closedProxies per uid, which of its proxies (in start order) were closed
   */
  record Expect(Set<String> running, Set<String> pending, int proxiesStarted, int stopped, Map<String, List<Boolean>> closedProxies) {}

  static Stream<Arguments> cases() {
    return Stream.of(
        Arguments.of("add starts a proxy",
            steps(connect(), snapshot(), add("a", 1)),
            new Expect(Set.of("a"), Set.of(), 1, 0, Map.of("a", List.of(false)))),
        Arguments.of("re-add with the same netns is idempotent",
            steps(connect(), add("a", 1), snapshot(), add("a", 1)),
            new Expect(Set.of("a"), Set.of(), 1, 0, Map.of("a", List.of(false)))),
        Arguments.of("re-add with a new netns replaces the proxy",
            steps(connect(), snapshot(), add("a", 1), add("a", 2)),
            new Expect(Set.of("a"), Set.of(), 2, 1, Map.of("a", List.of(true, false)))),
        Arguments.of("del after the snapshot closes the proxy at once",
            steps(connect(), snapshot(), add("a", 1), add("b", 2), del("a")),
            new Expect(Set.of("b"), Set.of(), 2, 1, Map.of("a", List.of(true), "b", List.of(false)))),
        Arguments.of("del of an unknown uid is a no-op",
            steps(connect(), snapshot(), add("a", 1), del("zzz")),
            new Expect(Set.of("a"), Set.of(), 1, 0, Map.of("a", List.of(false)))),
        Arguments.of("reconnect: pods missing from the new snapshot are removed",
            steps(connect(), add("a", 1), add("b", 2), snapshot(), disconnect(), connect(), add("a", 1), snapshot()),
            new Expect(Set.of("a"), Set.of(), 2, 1, Map.of("a", List.of(false), "b", List.of(true)))),
        Arguments.of("reconnect: proxies run on while disconnected",
            steps(connect(), add("a", 1), snapshot(), disconnect()),
            new Expect(Set.of("a"), Set.of(), 1, 0, Map.of("a", List.of(false)))),
        Arguments.of("reconnect: keep saves a running proxy",
            steps(connect(), add("a", 1), add("b", 2), snapshot(), disconnect(), connect(), keep("a"), snapshot()),
            new Expect(Set.of("a"), Set.of(), 2, 1, Map.of("a", List.of(false), "b", List.of(true)))),
        Arguments.of("del before the snapshot: the proxy goes at the reconcile",
            steps(connect(), add("a", 1), snapshot(), disconnect(), connect(), add("a", 1), del("a"), snapshot()),
            new Expect(Set.of(), Set.of(), 1, 1, Map.of("a", List.of(true)))),
        Arguments.of("workload not in xDS yet (the CNI ADD comes before the pod IP): the proxy starts anyway",
            steps(connect(), snapshot(), add("x", 1), retry(), xdsLearns("x"), retry()),
            new Expect(Set.of("x"), Set.of(), 1, 0, Map.of("x", List.of(false)))),
        Arguments.of("bind failure: pending, then a retry succeeds",
            steps(connect(), snapshot(), fail("a"), add("a", 1), retry(), heal("a"), retry()),
            new Expect(Set.of("a"), Set.of(), 1, 0, Map.of("a", List.of(false)))),
        Arguments.of("a pending pod is dropped by del",
            steps(connect(), snapshot(), fail("a"), add("a", 1), del("a"), heal("a"), retry()),
            new Expect(Set.of(), Set.of(), 0, 0, Map.of())),
        Arguments.of("a pending pod missing from the next snapshot is dropped",
            steps(connect(), fail("a"), add("a", 1), snapshot(), disconnect(), connect(), snapshot()),
            new Expect(Set.of(), Set.of(), 0, 0, Map.of())),
        Arguments.of("a pending pod re-added after the fix starts",
            steps(connect(), snapshot(), fail("a"), add("a", 1), heal("a"), add("a", 1)),
            new Expect(Set.of("a"), Set.of(), 1, 0, Map.of("a", List.of(false)))));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void stateMachine(String name, List<Consumer<Env>> steps, Expect expect) {
    Env env = new Env();
    steps.forEach(s -> s.accept(env));

    assertThat(env.manager.runningPods()).as("running").isEqualTo(expect.running());
    assertThat(env.manager.pendingPods()).as("pending").isEqualTo(expect.pending());
    assertThat(env.proxies).as("proxies started").hasSize(expect.proxiesStarted());
    expect.closedProxies().forEach((uid, closed) ->
        assertThat(env.of(uid).stream().map(p -> p.closed).toList()).as("closed proxies of %s", uid).isEqualTo(closed));
    assertThat(env.proxies).as("pod deletion never drains gracefully").noneMatch(p -> p.drained);
    assertThat(env.gauge("workload_manager_active_proxy_count")).isEqualTo(expect.running().size());
    assertThat(env.gauge("workload_manager_pending_proxy_count")).isEqualTo(expect.pending().size());
    assertThat(env.counter("workload_manager_proxies_started")).isEqualTo(expect.proxiesStarted());
    assertThat(env.counter("workload_manager_proxies_stopped")).isEqualTo(expect.stopped());
    assertThat(env.manager.workloadState()).containsOnlyKeys(union(expect.running(), expect.pending()));
    expect.running().forEach(uid -> assertThat(env.manager.workloadState().get(uid).state()).isEqualTo("Up"));
    expect.pending().forEach(uid -> assertThat(env.manager.workloadState().get(uid).state()).isEqualTo("Pending"));
  }

  private static Set<String> union(Set<String> a, Set<String> b) {
    Set<String> u = new HashSet<>(a);
    u.addAll(b);
    return u;
  }

  @Test
  void add_acksErrors_forPendingPods() {
    Env env = new Env();
    Stream.of(connect(), snapshot(), add("a", 1), fail("b"), add("b", 2), add("x", 3)).forEach(s -> s.accept(env));
    assertThat(env.acks.get("a")).isEqualTo("ok");
    assertThat(env.acks.get("b")).contains("cannot start the proxy of pod b").contains("Address already in use");
    assertThat(env.acks.get("x")).as("not in xDS yet is no error").isEqualTo("ok");
    assertThat(env.manager.workloadState().get("b").info()).contains("Address already in use");
  }

  @Test
  void readiness_needsTheSnapshotOfTheCurrentConnection_andNoPendingPod() {
    Env env = new Env();
    assertThat(env.readiness.pendingTasks()).containsExactly(WorkloadManager.READINESS_TASK);
    Stream.of(connect(), add("a", 1)).forEach(s -> s.accept(env));
    assertThat(env.readiness.ready()).as("before SnapshotSent").isFalse();
    snapshot().accept(env);
    assertThat(env.readiness.ready()).as("after SnapshotSent").isTrue();
    Stream.of(fail("b"), add("b", 2)).forEach(s -> s.accept(env));
    assertThat(env.readiness.pendingTasks()).as("a pod is pending").containsExactly(WorkloadManager.READINESS_TASK);
    Stream.of(heal("b"), retry()).forEach(s -> s.accept(env));
    assertThat(env.readiness.ready()).as("the retry started it").isTrue();
    disconnect().accept(env);
    assertThat(env.readiness.ready()).as("disconnected").isFalse();
    Stream.of(connect(), add("a", 1), add("b", 2), snapshot()).forEach(s -> s.accept(env));
    assertThat(env.readiness.ready()).as("next snapshot").isTrue();
  }

  @Test
  void certificates_prefetchedPerIdentity_forgottenWithTheLastPod() {
    Env env = new Env();
    Stream.of(connect(), snapshot(), add("a", 1), add("b", 2), add("c", 3)).forEach(s -> s.accept(env));
    assertThat(env.certificateCalls).containsExactly(
        "prefetch spiffe://cluster.local/ns/ns/sa/sa", "prefetch spiffe://cluster.local/ns/ns/sa/sa-c");
    env.certificateCalls.clear();
    del("a").accept(env);
    assertThat(env.certificateCalls).as("b still uses sa").isEmpty();
    Stream.of(del("b"), del("c")).forEach(s -> s.accept(env));
    assertThat(env.certificateCalls).containsExactly(
        "forget spiffe://cluster.local/ns/ns/sa/sa", "forget spiffe://cluster.local/ns/ns/sa/sa-c");
  }

  @Test
  void drain_drainsEveryProxyGracefully_andRefusesLaterAdds() {
    Env env = new Env();
    Stream.of(connect(), snapshot(), add("a", 1), add("b", 2), fail("c"), add("c", 3)).forEach(s -> s.accept(env));
    assertThat(env.manager.drain(Duration.ofSeconds(1))).succeedsWithin(Duration.ofSeconds(1));
    assertThat(env.proxies).hasSize(2).allMatch(p -> p.drained);
    assertThat(env.manager.runningPods()).isEmpty();
    assertThat(env.manager.pendingPods()).isEmpty();
    assertThat(env.counter("workload_manager_proxies_stopped")).isEqualTo(2);
    assertThat(env.manager.add("d", info("a"), netns(9))).contains("ztunnel is shutting down");
  }
}
