package dev.ambient.bench.l4;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class ProcStatsTest {
  @Test
  void cpuTicksAreUtimePlusStimeCountedAfterTheCommandName() {
    // comm "(my) proc)" holds a space and parentheses; utime 1234, stime 56.
    String stat = "4242 ((my) proc)) S 1 4242 4242 0 -1 4194560 100 0 0 0 1234 56 0 0 20 0 7 0 99 1000 200";
    assertThat(ProcStats.cpuTicks(stat)).isEqualTo(1290);
  }

  @Test
  void aTruncatedStatLineIsRejected() {
    assertThatThrownBy(() -> ProcStats.cpuTicks("1 (x) S 1 2"))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("too few fields");
    assertThatThrownBy(() -> ProcStats.cpuTicks("garbage"))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("not a /proc/PID/stat");
  }

  @Test
  void vmRssIsReadInBytesAndMissingMeansZero() {
    assertThat(ProcStats.vmRssBytes("Name:\tjava\nVmHWM:\t  9000 kB\nVmRSS:\t  123456 kB\nRssAnon: 1 kB\n"))
        .isEqualTo(123456L * 1024);
    assertThat(ProcStats.vmRssBytes("Name:\tkthreadd\nState:\tS (sleeping)\n")).isZero();
  }

  @Test
  void openFilesHardLimitComesFromTheLimitsTable() {
    String limits = """
        Limit                     Soft Limit           Hard Limit           Units
        Max processes             unlimited            unlimited            processes
        Max open files            1024                 20000                files
        """;
    assertThat(ProcStats.openFilesHardLimit(limits)).isEqualTo(20000);
    assertThat(ProcStats.openFilesHardLimit("Max open files            unlimited            unlimited            files"))
        .isEqualTo(Long.MAX_VALUE);
  }

  @Test
  void thisProcessHasCpuTimeAndResidentMemory() {
    long pid = ProcessHandle.current().pid();
    double before = ProcStats.cpuSeconds(pid);
    long x = 0;
    long end = System.nanoTime() + 300_000_000L;
    while (System.nanoTime() < end) {
      x += Long.numberOfTrailingZeros(x + System.nanoTime());
    }
    assertThat(x).isNotNegative();
    assertThat(ProcStats.cpuSeconds(pid)).isGreaterThan(before);
    assertThat(ProcStats.rssBytes(pid)).isGreaterThan(10L << 20);
    assertThat(ProcStats.rssBytes(Long.MAX_VALUE)).isZero(); // no such process
  }
}
