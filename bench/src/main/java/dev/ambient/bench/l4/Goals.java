package dev.ambient.bench.l4;

import java.util.List;
import java.util.Locale;
import org.jspecify.annotations.Nullable;

/** The goals for the ztunnel leg, judged against the HAProxy leg and fixed limits. */
final class Goals {
  static final double MAX_ADDED_P99_MS = 0.3;
  static final double MAX_CPU_PER_1000 = 0.1;
  /** Issue 4 §7: "RSS ≤ 150 MB at idle", decimal megabytes (143.05 MiB). */
  static final long MAX_RSS_IDLE_BYTES = 150_000_000;
  static final String RSS_GOAL = "RSS <= 150 MB (143.1 MiB) idle";
  private static final double MIB = 1024 * 1024;

  private Goals() {}

  /** One goal: {@code pass} is null when it cannot be judged (leg skipped or figure missing). */
  record Goal(String name, String value, @Nullable Boolean pass) {
    String verdict() {
      return pass == null ? "n/a" : pass ? "PASS" : "FAIL";
    }
  }

  /** Judges {@code ztunnel} (null when its leg did not run) against {@code haproxy}. */
  static List<Goal> evaluate(LegSummary haproxy, @Nullable LegSummary ztunnel) {
    if (ztunnel == null) {
      String none = "leg (c) did not run";
      return List.of(new Goal("throughput >= 1.0x HAProxy", none, null),
          new Goal("added p99 <= HAProxy's", none, null),
          new Goal("added p99 <= 0.3 ms", none, null),
          new Goal("<= 0.1 vCPU per 1,000 requests/s", none, null),
          new Goal(RSS_GOAL, none, null));
    }
    double ratio = ztunnel.gbps() / haproxy.gbps();
    return List.of(
        new Goal("throughput >= 1.0x HAProxy", fmt("%.3fx", ratio), atLeast(ratio, 1.0)),
        new Goal("added p99 <= HAProxy's",
            fmt("%.3f ms vs %.3f ms", ztunnel.addedP99(), haproxy.addedP99()),
            atMost(ztunnel.addedP99(), haproxy.addedP99())),
        new Goal("added p99 <= 0.3 ms", fmt("%.3f ms", ztunnel.addedP99()),
            atMost(ztunnel.addedP99(), MAX_ADDED_P99_MS)),
        new Goal("<= 0.1 vCPU per 1,000 requests/s", fmt("%.3f CPU s per 1,000 requests", ztunnel.cpuPer1000()),
            atMost(ztunnel.cpuPer1000(), MAX_CPU_PER_1000)),
        new Goal(RSS_GOAL, fmt("%.1f MiB (%.1f MB)", ztunnel.rssIdleMib(), ztunnel.rssIdleMib() * MIB / 1e6),
            atMost(ztunnel.rssIdleMib() * MIB, MAX_RSS_IDLE_BYTES)));
  }

  private static @Nullable Boolean atMost(double value, double limit) {
    return Double.isNaN(value) || Double.isNaN(limit) ? null : value <= limit;
  }

  private static @Nullable Boolean atLeast(double value, double limit) {
    return Double.isNaN(value) || Double.isNaN(limit) ? null : value >= limit;
  }

  private static String fmt(String f, Object... args) {
    return String.format(Locale.ROOT, f, args);
  }
}
