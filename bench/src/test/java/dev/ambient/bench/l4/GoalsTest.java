package dev.ambient.bench.l4;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

class GoalsTest {
  private static final LegSummary HAPROXY = new LegSummary(2.0, 0.3, 0.4, 0.5, 0.08, 20, 90);

  /** ztunnel figures -> verdicts of the five goals, in order (throughput, p99 vs HAProxy, p99 limit, CPU, RSS). */
  @ParameterizedTest(name = "{0}")
  @CsvSource({
      "everything met,             2.0, 0.20, 0.05, 120, PASS PASS PASS PASS PASS",
      "slower than HAProxy,        1.9, 0.20, 0.05, 120, FAIL PASS PASS PASS PASS",
      "p99 over HAProxy's,         2.5, 0.60, 0.05, 120, PASS FAIL FAIL PASS PASS",
      "p99 under HAProxy over 0.3, 2.5, 0.31, 0.05, 120, PASS PASS FAIL PASS PASS",
      "p99 exactly 0.3,            2.5, 0.30, 0.05, 120, PASS PASS PASS PASS PASS",
      "too much CPU,               2.5, 0.20, 0.11, 120, PASS PASS PASS FAIL PASS",
      "too much memory,            2.5, 0.20, 0.05, 151, PASS PASS PASS PASS FAIL",
      "150 MiB is over 150 MB,     2.5, 0.20, 0.05, 150, PASS PASS PASS PASS FAIL",
      "143.1 MiB is over 150 MB,   2.5, 0.20, 0.05, 143.1, PASS PASS PASS PASS FAIL",
      "143.05 MiB is under 150 MB, 2.5, 0.20, 0.05, 143.05, PASS PASS PASS PASS PASS",
      "missing figures,            NaN, NaN,  NaN,  NaN, n/a n/a n/a n/a n/a",
  })
  void verdicts(String name, double gbps, double addedP99, double cpu, double rss, String expected) {
    LegSummary z = new LegSummary(gbps, 0.1, 0.1, addedP99, cpu, rss, rss * 2);

    List<String> verdicts = Goals.evaluate(HAPROXY, z).stream().map(Goals.Goal::verdict).toList();

    assertThat(String.join(" ", verdicts)).isEqualTo(expected);
  }

  @Test
  void withoutTheZtunnelLegEveryGoalIsNotApplicable() {
    assertThat(Goals.evaluate(HAPROXY, null)).hasSize(5)
        .allSatisfy(g -> {
          assertThat(g.verdict()).isEqualTo("n/a");
          assertThat(g.value()).isEqualTo("leg (c) did not run");
        });
  }

  @Test
  void valuesShowTheFigures() {
    List<Goals.Goal> g = Goals.evaluate(HAPROXY, new LegSummary(3.0, 0, 0, 0.25, 0.07, 100.04, 0));
    assertThat(g.get(0).value()).isEqualTo("1.500x");
    assertThat(g.get(1).value()).isEqualTo("0.250 ms vs 0.500 ms");
    assertThat(g.get(3).value()).isEqualTo("0.070 CPU s per 1,000 requests");
    assertThat(g.get(4).name()).isEqualTo("RSS <= 150 MB (143.1 MiB) idle");
    assertThat(g.get(4).value()).isEqualTo("100.0 MiB (104.9 MB)");
  }
}
