package dev.ambient.xds.ca;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ambient.identity.SpiffeId;
import dev.ambient.identity.TrustBundle;
import dev.ambient.identity.WorkloadCertificate;
import dev.ambient.testing.IssuedCertificate;
import dev.ambient.testing.LeafSpec;
import dev.ambient.testing.TestCa;
import dev.ambient.xds.ca.SecretManager.Available;
import dev.ambient.xds.ca.SecretManager.Initializing;
import dev.ambient.xds.ca.SecretManager.Priority;
import dev.ambient.xds.ca.SecretManager.Unavailable;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import org.junit.jupiter.api.Test;

/** {@link SecretManager} driven by a {@link FakeScheduler}: no sleeps, no threads. */
class SecretManagerTest {
  private static final TestCa CA = TestCa.create("cluster.local");
  private static final Instant START = Instant.parse("2026-01-10T00:00:00Z");
  private static final SpiffeId A = id("a");
  private static final SpiffeId B = id("b");

  private final FakeScheduler scheduler = new FakeScheduler(START);
  private final FakeFetcher fetcher = new FakeFetcher();
  private double jitterSample = 0.5; // 0.5 = no jitter
  private final SecretManager manager = SecretManager.builder()
      .fetcher(fetcher).executor(scheduler).clock(scheduler.clock).random(() -> jitterSample).build();

  private static SpiffeId id(String sa) {
    return SpiffeId.of("cluster.local", "default", sa);
  }

  private static WorkloadCertificate cert(SpiffeId id, Instant notBefore, Instant notAfter) {
    IssuedCertificate c = CA.issue(LeafSpec.uris(id.toString()).notBefore(notBefore).notAfter(notAfter));
    return WorkloadCertificate.of(c.privateKey(), c.leaf(), c.intermediates(), TrustBundle.of(c.root()));
  }

  private CompletableFuture<WorkloadCertificate> fetch(SpiffeId id, Priority p) {
    CompletableFuture<WorkloadCertificate> f = manager.fetchCertificate(id, p);
    scheduler.runDue();
    return f;
  }

  private WorkloadCertificate issueFor(FakeFetcher.Call call, Duration lifetime) {
    WorkloadCertificate c = cert(call.identity(), scheduler.now(), scheduler.now().plus(lifetime));
    call.future().complete(c);
    scheduler.runDue();
    return c;
  }

  private void fail(FakeFetcher.Call call) {
    call.future().completeExceptionally(new CaException(CaException.Reason.CA_CALL_FAILED, "CA down"));
    scheduler.runDue();
  }

  @Test
  void fetchCertificate_concurrentCallers_shareOneInFlightRequest() throws Exception {
    CompletableFuture<WorkloadCertificate> first = fetch(A, Priority.REAL_TIME);
    CompletableFuture<WorkloadCertificate> second = fetch(A, Priority.WARMUP);
    assertThat(fetcher.calls).hasSize(1);
    assertThat(manager.states()).containsEntry(A, new Initializing(Priority.REAL_TIME));

    WorkloadCertificate c = issueFor(fetcher.calls.getFirst(), Duration.ofHours(24));

    assertThat(first.get()).isSameAs(c);
    assertThat(second.get()).isSameAs(c);
    assertThat(fetch(A, Priority.REAL_TIME).get()).as("served from the cache").isSameAs(c);
    assertThat(fetcher.calls).hasSize(1);
    assertThat(manager.states()).containsEntry(A, new Available(c));
  }

  @Test
  void availableCertificate_refreshedAtHalfLife_oldOneServedMeanwhile() throws Exception {
    fetch(A, Priority.REAL_TIME);
    WorkloadCertificate first = issueFor(fetcher.calls.getFirst(), Duration.ofHours(24));

    scheduler.advance(Duration.ofHours(12).minusSeconds(1));
    assertThat(fetcher.calls).hasSize(1);
    scheduler.advance(Duration.ofSeconds(1));
    assertThat(fetcher.calls).hasSize(2);
    assertThat(fetch(A, Priority.REAL_TIME).get()).as("old certificate while refreshing").isSameAs(first);

    WorkloadCertificate second = issueFor(fetcher.calls.get(1), Duration.ofHours(24));
    assertThat(fetch(A, Priority.REAL_TIME).get()).isSameAs(second);
    assertThat(scheduler.nextTaskTime()).isEqualTo(scheduler.now().plus(Duration.ofHours(12)));
  }

  @Test
  void issuedCertificate_notBeforeInFuture_refreshedImmediately() {
    fetch(A, Priority.REAL_TIME);
    fetcher.calls.getFirst().future()
        .complete(cert(A, START.plus(Duration.ofHours(1)), START.plus(Duration.ofHours(25))));
    scheduler.runDue();
    assertThat(fetcher.calls).hasSize(2);
  }

  @Test
  void manyIdentities_atMostEightInFlight() {
    for (int i = 0; i < 10; i++) {
      fetch(id("sa" + i), Priority.REAL_TIME);
    }
    assertThat(fetcher.calls).hasSize(SecretManager.DEFAULT_MAX_IN_FLIGHT);
    assertThat(manager.states()).hasSize(10);

    issueFor(fetcher.calls.getFirst(), Duration.ofHours(24));
    assertThat(fetcher.calls).hasSize(9);
    assertThat(fetcher.calls.get(8).identity()).isEqualTo(id("sa8"));
    fail(fetcher.calls.get(1));
    assertThat(fetcher.calls).hasSize(10);
    assertThat(fetcher.calls.get(9).identity()).isEqualTo(id("sa9"));
  }

  @Test
  void queuedLowerPriorityRequest_bumpedByRealTimeCaller() {
    for (int i = 0; i < 8; i++) {
      fetch(id("busy" + i), Priority.REAL_TIME);
    }
    fetch(id("background-early"), Priority.BACKGROUND);
    fetch(id("warmup"), Priority.WARMUP);
    fetch(id("bumped"), Priority.BACKGROUND);
    assertThat(fetcher.calls).hasSize(8);

    fetch(id("bumped"), Priority.REAL_TIME);
    assertThat(manager.states()).containsEntry(id("bumped"), new Initializing(Priority.REAL_TIME));

    for (int i = 0; i < 3; i++) {
      issueFor(fetcher.calls.get(i), Duration.ofHours(24));
    }
    assertThat(fetcher.calls.subList(8, 11)).extracting(FakeFetcher.Call::identity)
        .containsExactly(id("bumped"), id("warmup"), id("background-early"));
  }

  @Test
  void refreshFails_validCertificateStillServed_retriedWithExponentialBackoff() throws Exception {
    fetch(A, Priority.REAL_TIME);
    WorkloadCertificate c = issueFor(fetcher.calls.getFirst(), Duration.ofHours(24));
    scheduler.advance(Duration.ofHours(12));
    assertThat(fetcher.calls).hasSize(2);

    fail(fetcher.calls.get(1));
    assertThat(manager.states()).containsEntry(A, new Available(c));
    assertThat(fetch(A, Priority.REAL_TIME).get()).isSameAs(c);

    // 1 s, 2 s, 4 s: each retry fails and the next waits twice as long.
    Duration[] expected = {Duration.ofSeconds(1), Duration.ofSeconds(2), Duration.ofSeconds(4)};
    for (int i = 0; i < expected.length; i++) {
      int before = fetcher.calls.size();
      scheduler.advance(expected[i].minusMillis(1));
      assertThat(fetcher.calls).as("retry %d not before %s", i + 1, expected[i]).hasSize(before);
      scheduler.advance(Duration.ofMillis(1));
      assertThat(fetcher.calls).as("retry %d at %s", i + 1, expected[i]).hasSize(before + 1);
      fail(fetcher.calls.getLast());
      assertThat(fetch(A, Priority.REAL_TIME).get()).isSameAs(c);
    }
    // Success resets the backoff.
    scheduler.advance(Duration.ofSeconds(8));
    WorkloadCertificate renewed = issueFor(fetcher.calls.getLast(), Duration.ofSeconds(10));
    assertThat(manager.states()).containsEntry(A, new Available(renewed));
    scheduler.advance(Duration.ofSeconds(5));
    fail(fetcher.calls.getLast());
    assertThat(scheduler.nextTaskTime()).isEqualTo(scheduler.now().plusSeconds(1));
  }

  @Test
  void refreshFails_retryNotLaterThanExpiry() {
    fetch(A, Priority.REAL_TIME);
    issueFor(fetcher.calls.getFirst(), Duration.ofSeconds(4));
    scheduler.advance(Duration.ofSeconds(2)); // half-life
    fail(fetcher.calls.getLast());
    scheduler.advance(Duration.ofSeconds(1)); // first retry after 1 s, at t=3 s
    assertThat(fetcher.calls).hasSize(3);
    fail(fetcher.calls.getLast());
    // The backoff says 2 s (t=5 s) but the certificate expires at t=4 s.
    assertThat(scheduler.nextTaskTime()).isEqualTo(START.plusSeconds(4));
  }

  @Test
  void fetchFails_noCertificate_callersGetErrorUntilRetrySucceeds() throws Exception {
    jitterSample = 0.0; // -20 %
    CompletableFuture<WorkloadCertificate> waiting = fetch(A, Priority.REAL_TIME);
    fail(fetcher.calls.getFirst());

    assertThatThrownBy(waiting::get).isInstanceOf(ExecutionException.class)
        .cause().isInstanceOf(CaException.class).hasMessageContaining("CA down");
    assertThat(manager.states().get(A)).isInstanceOf(Unavailable.class);
    assertThat(fetch(A, Priority.REAL_TIME)).isCompletedExceptionally();
    assertThat(fetcher.calls).hasSize(1);

    scheduler.advance(Duration.ofMillis(799));
    assertThat(fetcher.calls).hasSize(1);
    scheduler.advance(Duration.ofMillis(1));
    assertThat(fetcher.calls).as("retry after 1 s - 20 %").hasSize(2);
    WorkloadCertificate c = issueFor(fetcher.calls.getLast(), Duration.ofHours(1));
    assertThat(fetch(A, Priority.REAL_TIME).get()).isSameAs(c);
  }

  @Test
  void forget_inFlightRequest_waitersFailAndResultDiscarded() throws Exception {
    CompletableFuture<WorkloadCertificate> waiting = fetch(A, Priority.REAL_TIME);
    fetch(B, Priority.REAL_TIME);
    manager.forget(A);
    scheduler.runDue();

    assertThatThrownBy(waiting::get).cause().isInstanceOfSatisfying(CaException.class,
        e -> assertThat(e.reason()).isEqualTo(CaException.Reason.FORGOTTEN));
    assertThat(manager.states()).containsOnlyKeys(B);

    issueFor(fetcher.calls.getFirst(), Duration.ofHours(24)); // A's late answer
    assertThat(manager.states()).containsOnlyKeys(B);
    assertThat(scheduler.pendingTasks()).as("no refresh scheduled for a forgotten identity").isZero();

    CompletableFuture<WorkloadCertificate> again = fetch(A, Priority.REAL_TIME);
    assertThat(again).isNotDone();
    assertThat(fetcher.calls).hasSize(3);
  }

  @Test
  void forget_availableIdentity_cancelsRefresh() {
    fetch(A, Priority.REAL_TIME);
    issueFor(fetcher.calls.getFirst(), Duration.ofHours(24));
    assertThat(scheduler.pendingTasks()).isEqualTo(1);
    manager.forget(A);
    scheduler.advance(Duration.ofDays(2));
    assertThat(fetcher.calls).hasSize(1);
    assertThat(manager.states()).isEmpty();
  }

  @Test
  void cachedCertificateExpiredDuringHungRefresh_notServed_callerWaitsForRefresh() throws Exception {
    fetch(A, Priority.REAL_TIME);
    issueFor(fetcher.calls.getFirst(), Duration.ofSeconds(10));
    scheduler.advance(Duration.ofSeconds(5)); // the refresh goes out and hangs
    assertThat(fetcher.calls).hasSize(2);
    scheduler.advance(Duration.ofSeconds(6)); // t=11 s: the cached certificate expired at 10 s

    CompletableFuture<WorkloadCertificate> waiting = fetch(A, Priority.REAL_TIME);
    assertThat(waiting).isNotDone();
    assertThat(manager.states()).containsEntry(A, new Initializing(Priority.REAL_TIME));
    assertThat(fetcher.calls).as("shares the in-flight refresh").hasSize(2);

    WorkloadCertificate fresh = issueFor(fetcher.calls.getLast(), Duration.ofHours(1));
    assertThat(waiting.get()).isSameAs(fresh);
  }

  @Test
  void validCertificateExpiresWhileRetrying_becomesUnavailable() {
    fetch(A, Priority.REAL_TIME);
    issueFor(fetcher.calls.getFirst(), Duration.ofSeconds(10));
    scheduler.advance(Duration.ofSeconds(5)); // refresh at half-life
    fail(fetcher.calls.getLast());
    scheduler.advance(Duration.ofSeconds(1));
    fail(fetcher.calls.getLast());
    scheduler.advance(Duration.ofSeconds(2));
    fail(fetcher.calls.getLast()); // t=8 s; next retry at min(4 s, expiry at 10 s)
    assertThat(manager.states().get(A)).isInstanceOf(Available.class);
    scheduler.advance(Duration.ofSeconds(2)); // t=10 s: the retry at expiry
    fail(fetcher.calls.getLast());
    scheduler.advance(Duration.ofMillis(1));
    assertThat(manager.states().get(A)).as("no valid certificate left").isInstanceOf(Unavailable.class);
  }

  @Test
  void backoff_defaultPolicy_doublesWithJitterAndCap() {
    Backoff b = Backoff.CSR_DEFAULT;
    assertThat(b.delay(1, 0.5)).isEqualTo(Duration.ofSeconds(1));
    assertThat(b.delay(2, 0.5)).isEqualTo(Duration.ofSeconds(2));
    assertThat(b.delay(3, 0.5)).isEqualTo(Duration.ofSeconds(4));
    assertThat(b.delay(1, 0.0)).isEqualTo(Duration.ofMillis(800));
    assertThat(b.delay(1, 1.0)).isEqualTo(Duration.ofMillis(1200));
    assertThat(b.delay(9, 0.5)).isEqualTo(Duration.ofSeconds(150));
    assertThat(b.delay(50, 0.99)).isEqualTo(Duration.ofSeconds(150));
  }

  /** Records CSR calls; the test completes them. */
  static final class FakeFetcher implements CertificateFetcher {
    record Call(SpiffeId identity, CompletableFuture<WorkloadCertificate> future) {}

    final List<Call> calls = new ArrayList<>();

    @Override
    public CompletableFuture<WorkloadCertificate> fetch(SpiffeId identity) {
      CompletableFuture<WorkloadCertificate> f = new CompletableFuture<>();
      calls.add(new Call(identity, f));
      return f;
    }
  }

  @org.junit.jupiter.params.ParameterizedTest(name = "{0}")
  @org.junit.jupiter.params.provider.CsvSource({
      // case, notBefore offset s, notAfter offset s (from now), expected refresh offset s
      "istio half life, 0, 100, 50",
      "backdated long TTL keeps the half life, -60, 86400, 43170",
      "backdated short TTL: half of what is left, -60, 4, 2",
      "half life exactly now: half of what is left, -50, 50, 25",
      "expired: now, -100, -1, 0",
      "not yet valid: now, 10, 100, 0",
  })
  void refreshPoint(String name, long notBefore, long notAfter, long expected) {
    Instant now = Instant.parse("2026-11-22T12:00:00Z");
    WorkloadCertificate c = cert(SpiffeId.parse("spiffe://cluster.local/ns/a/sa/b"),
        now.plusSeconds(notBefore), now.plusSeconds(notAfter));
    assertThat(SecretManager.refreshAt(c, now)).isEqualTo(now.plusSeconds(expected));
  }
}
