package dev.ambient.bench.pods;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.OptionalDouble;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;

class PodsFiguresTest {
  @Test
  void cniTimingLines() {
    assertThat(PodsFigures.cniTimings("ADD bench/p1 123456 0\n\nDEL bench/p1 2000 1\n")).containsExactly(
        new PodsFigures.CniTiming("ADD", "bench/p1", 123.456, 0), new PodsFigures.CniTiming("DEL", "bench/p1", 2.0, 1));
    assertThatThrownBy(() -> PodsFigures.cniTimings("ADD bench/p1 12x 0"))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("'ADD bench/p1 12x 0'");
    assertThatThrownBy(() -> PodsFigures.cniTimings("ADD bench/p1")).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void agentCapturedLinesWithTimingsOnly() {
    String log = """
        2026-11-22 19:40:01.123 INFO  NodeAgent - pod bench/p1 (uid alb1-bench-p1) captured: netns /var/run/netns/x, \
        addresses [198.18.121.2]; rules 41.5 ms, ZDS add to ack 7.25 ms
        2026-11-22 19:40:01.200 INFO  NodeAgent - pod bench/p2 (uid u2) released
        2026-11-22 19:40:02.000 INFO  NodeAgent - pod bench/p3 (uid u3) captured: netns /n, addresses []; rules 1.0 ms, ZDS add to ack 12.0 ms
        """;
    assertThat(PodsFigures.agentTimings(log)).containsExactly(new PodsFigures.AgentTiming("bench/p1", 41.5, 7.25),
        new PodsFigures.AgentTiming("bench/p3", 1.0, 12.0));
  }

  @Test
  void vmRssAndPids() {
    assertThat(PodsFigures.vmRssKib("Name:\tjava\nVmPeak:\t 999 kB\nVmRSS:\t  204800 kB\n")).isEqualTo(OptionalLong.of(204800));
    assertThat(PodsFigures.vmRssKib("Name:\tkthreadd\n")).isEmpty();
    String processes = "node-0\tnode agent\tpid 100\t/run/x/cni-agent.log\nnode-0\tztunnel\tpid 101\t/run/x/ztunnel.log\n";
    assertThat(PodsFigures.pid(processes, "node-0", "ztunnel")).isEqualTo(OptionalLong.of(101));
    assertThat(PodsFigures.pid(processes, "node-1", "ztunnel")).isEmpty();
  }

  @Test
  void heapUsedFromJcmdHeapInfo() {
    Map<String, OptionalLong> table = Map.of(
        "1:\ngarbage-first heap   total reserved 6172672K, committed 73728K, used 26523K [0x0, 0x1)\n"
            + " region size 4096K, 3 young (12288K), 1 survivors (4096K)\n", OptionalLong.of(26523),
        " def new generation   total 4928K, used 1000K [0x0)\n  eden space 4416K\n"
            + " tenured generation   total 10944K, used 2000K [0x0)\n", OptionalLong.of(3000),
        // JDK 25's Serial GC names (what the lab's ztunnel prints)
        "20046:\nDefNew     total 4928K, used 3792K [0x0, 0x1, 0x2)\n eden space 4416K,  74% used [0x0)\n"
            + " from space 512K, 100% used [0x0)\nTenured    total 10944K, used 4427K [0x0, 0x1, 0x2)\n"
            + " the  space 10944K,  40% used [0x0)\n", OptionalLong.of(8219),
        " ZHeap           used 8M, capacity 40M, max capacity 512M\n", OptionalLong.of(8192),
        "java.io.IOException: No such process\n", OptionalLong.empty());
    table.forEach((text, want) -> assertThat(PodsFigures.heapUsedKib(text)).as(text).isEqualTo(want));
  }

  @Test
  void percentilesNearestRank() {
    List<Double> fifty = new ArrayList<>();
    for (int i = 50; i >= 1; i--) {
      fifty.add((double) i);
    }
    Map<Double, Double> table = Map.of(50.0, 25.0, 90.0, 45.0, 99.0, 50.0, 100.0, 50.0, 1.0, 1.0);
    table.forEach((p, want) -> assertThat(PodsFigures.percentile(fifty, p)).as("p%s", p).isEqualTo(OptionalDouble.of(want)));
    assertThat(PodsFigures.percentile(List.of(), 99)).isEmpty();
    assertThat(PodsFigures.median(fifty)).isEqualTo(OptionalDouble.of(25.5));
    assertThat(PodsFigures.median(List.of(3.0, 1.0, 2.0))).isEqualTo(OptionalDouble.of(2.0));
    assertThat(PodsFigures.median(List.of())).isEmpty();
  }

  @Test
  void kibPerPodAndVerdict() {
    assertThat(PodsFigures.kibPerPod(100_000, 112_000, 100)).isEqualTo(120.0);
    assertThat(PodsFigures.kibPerPod(100_000, 99_000, 100)).isEqualTo(-10.0);
    assertThatThrownBy(() -> PodsFigures.kibPerPod(1, 2, 0)).isInstanceOf(IllegalArgumentException.class);
    assertThat(PodsFigures.verdict(true)).isEqualTo("PASS");
    assertThat(PodsFigures.verdict(false)).isEqualTo("FAIL");
  }

  @Test
  void jsonOut() {
    assertThat(JsonOut.write(Map.of("a", List.of(1, 2.5, Double.NaN, true, "x\"y\n")))).isEqualTo(
        "{\"a\":[1,2.500,null,true,\"x\\\"y\\n\"]}\n");
  }
}
