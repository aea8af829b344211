package dev.ambient.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class ChangeStagesTest {
  private static final long MS = 1_000_000;

  @Test
  void parsesTheControlPlaneTimingLine() {
    String line = "20:41:02.123 DEBUG [config] timings: reload event=1000 start=2000 loaded=3000 stored=4000"
        + " published=5000 version=7: waited 0.00 ms, load 0.00 ms, store 0.00 ms, publish and push 0.00 ms;"
        + " changed 1 addresses, 0 policies";
    assertThat(ChangeStages.parseReload(line)).isEqualTo(new ChangeStages.Reload(1000, 2000, 3000, 4000, 5000));
  }

  @ParameterizedTest
  @ValueSource(strings = {
      "20:41:02.123 INFO  [main] ControlPlane: control plane serving delta ADS on /127.0.0.1:15012",
      "reload event=1 start=2",
      "",
      "[16788481636878ns] GC(81) Pause Young (Concurrent Start) (G1 Evacuation Pause) 88M->79M(183M) 3.344ms"})
  void otherLinesAreNotReloadsOrSafepoints(String line) {
    assertThat(ChangeStages.parseReload(line)).isNull();
    assertThat(ChangeStages.parseSafepoint(line)).isNull();
  }

  @Test
  void parsesASafepointLineIntoItsInterval() {
    String line = "[16788488072082ns] Safepoint \"G1CollectForAllocation\", Time since last: 974768 ns, Reaching safepoint:"
        + " 1782 ns, At safepoint: 3490893 ns, Leaving safepoint: 6289047 ns, Total: 9781722 ns, Threads: 0 runnable, 10 total";
    assertThat(ChangeStages.parseSafepoint(line))
        .isEqualTo(new ChangeStages.Pause(16788488072082L - 9781722L, 16788488072082L, "G1CollectForAllocation"));
  }

  @Test
  void splitsAChangeIntoItsStages() {
    // written at 0, event at 2, reload 12..40 (load to 30, store to 35), received at 44, applied at 50
    var reload = new ChangeStages.Reload(2 * MS, 12 * MS, 30 * MS, 35 * MS, 40 * MS);
    var b = ChangeStages.of(0, 50 * MS, List.of(reload), new long[] {-5 * MS, 44 * MS, 70 * MS}, List.of(), List.of());
    assertThat(b.watch()).isEqualTo(2.0);
    assertThat(b.debounce()).isEqualTo(10.0);
    assertThat(b.load()).isEqualTo(18.0);
    assertThat(b.store()).isEqualTo(5.0);
    assertThat(b.publish()).isEqualTo(5.0);
    assertThat(b.wire()).isEqualTo(4.0);
    assertThat(b.apply()).isEqualTo(6.0);
    assertThat(b.reloads()).isEqualTo(1);
    assertThat(b.watch() + b.debounce() + b.load() + b.store() + b.publish() + b.wire() + b.apply()).isEqualTo(50.0);
  }

  @Test
  void theCarryingReloadIsTheLastOnePublishedBeforeTheArrival() {
    // a reload that started before the write does not count; of two after it, the second one was received
    var early = new ChangeStages.Reload(-30 * MS, -20 * MS, -10 * MS, -9 * MS, 1 * MS);
    var first = new ChangeStages.Reload(1 * MS, 11 * MS, 20 * MS, 21 * MS, 22 * MS);
    var second = new ChangeStages.Reload(25 * MS, 35 * MS, 60 * MS, 61 * MS, 62 * MS);
    var b = ChangeStages.of(0, 70 * MS, List.of(early, first, second), new long[] {23 * MS, 65 * MS}, List.of(),
        List.of());
    assertThat(b.reloads()).isEqualTo(2);
    assertThat(b.watch()).isEqualTo(25.0);
    assertThat(b.load()).isEqualTo(25.0);
    assertThat(b.wire()).isEqualTo(3.0);
    assertThat(b.apply()).isEqualTo(5.0);
  }

  @Test
  void aResponseThatArrivesBeforeThePublishEndedEndsThePublishStage() {
    // the push is sent from inside the publish; the config thread was preempted before its last stamp
    var reload = new ChangeStages.Reload(2 * MS, 12 * MS, 30 * MS, 35 * MS, 48 * MS);
    var b = ChangeStages.of(0, 50 * MS, List.of(reload), new long[] {40 * MS}, List.of(), List.of());
    assertThat(b.publish()).isEqualTo(5.0);
    assertThat(b.wire()).isEqualTo(0.0);
    assertThat(b.apply()).isEqualTo(10.0);
  }

  @Test
  void withoutAReloadOnlyTheClientSideIsKnown() {
    var b = ChangeStages.of(0, 50 * MS, List.of(), new long[] {44 * MS}, List.of(), List.of());
    assertThat(b.load()).isNaN();
    assertThat(b.apply()).isEqualTo(6.0);
    assertThat(b.describe()).contains("load ?").contains("apply 6.0");
  }

  @Test
  void countsOnlyThePartOfAPauseInsideTheChange() {
    var before = new ChangeStages.Pause(-20 * MS, -10 * MS, "before");
    var straddling = new ChangeStages.Pause(-5 * MS, 15 * MS, "G1CollectForAllocation");
    var inside = new ChangeStages.Pause(30 * MS, 30 * MS + 200_000, "Cleanup");
    var after = new ChangeStages.Pause(60 * MS, 80 * MS, "after");
    var b = ChangeStages.of(0, 50 * MS, List.of(), new long[0], List.of(before, straddling, inside, after),
        List.of(new ChangeStages.Pause(40 * MS, 45 * MS, "G1PauseRemark")));
    assertThat(b.cpPausedMs()).isCloseTo(15.2, within(1e-9));
    assertThat(b.clientPausedMs()).isEqualTo(5.0);
    // pauses of 1 ms or more are named, shorter ones only counted
    assertThat(b.pauses()).isEqualTo("cp G1CollectForAllocation 20.0 ms, client G1PauseRemark 5.0 ms");
  }
}
