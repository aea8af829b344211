package dev.ambient.bench.l4;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class L4BenchTest {
  @ParameterizedTest
  @CsvSource({
      "10000, 20000,   9872", // two descriptors per proxied connection, 256 spare
      "10000, 1048576, 10000",
      "2000,  20000,   2000",
      "0,     20000,   0",
      "10000, 100,     0",
  })
  void heldConnectionsFitTheOpenFilesLimit(int requested, long limit, int expected) {
    assertThat(L4Bench.effectiveHold(requested, limit)).isEqualTo(expected);
  }

  @Test
  void medianSkipsMissingValues() {
    assertThat(L4Bench.median(List.of(3.0, 1.0, 2.0))).isEqualTo(2.0);
    assertThat(L4Bench.median(List.of(4.0, 1.0, 2.0, 3.0))).isEqualTo(2.5);
    assertThat(L4Bench.median(List.of(Double.NaN, 5.0))).isEqualTo(5.0);
    assertThat(L4Bench.median(List.of())).isNaN();
  }

  @Test
  void addedLatencyIsTheLegsMedianPercentileMinusDirects() {
    L4Bench.LegData direct = new L4Bench.LegData(L4Bench.Leg.DIRECT);
    direct.latency.add(hey(0.0002, 0.0004, 0.0011));
    direct.latency.add(hey(0.0003, 0.0005, 0.0009));
    direct.latency.add(hey(0.0002, 0.0004, 0.0010));
    L4Bench.LegData z = new L4Bench.LegData(L4Bench.Leg.ZTUNNEL);
    z.latency.add(hey(0.0004, 0.0007, 0.0013));
    z.gbps.add(3.0);
    z.cpuPer1000.add(0.05);
    z.rssIdle.put("java[1]", 100L << 20);
    z.rssIdle.put("java[2]", 120L << 20);

    LegSummary s = L4Bench.summarize(z, direct);

    assertThat(s.addedP50()).isCloseTo(0.2, org.assertj.core.api.Assertions.within(1e-9));
    assertThat(s.addedP90()).isCloseTo(0.3, org.assertj.core.api.Assertions.within(1e-9));
    assertThat(s.addedP99()).isCloseTo(0.3, org.assertj.core.api.Assertions.within(1e-9));
    assertThat(s.rssIdleMib()).isEqualTo(120.0); // the larger of the two processes
    assertThat(s.rssConnsMib()).isNaN();
    assertThat(s.gbps()).isEqualTo(3.0);
  }

  @Test
  void optionsQuickAndValidation() {
    L4Bench.Options q = L4Bench.parse(new String[] {"--quick", "--legs", "ab"});
    assertThat(q.reps()).isEqualTo(1);
    assertThat(q.durationSeconds()).isEqualTo(3);
    assertThat(q.holdConnections()).isEqualTo(2000);
    assertThat(q.legs()).isEqualTo("ab");
    assertThat(q.prefix()).matches("l4b[0-9a-f]{4}");
    L4Bench.Options d = L4Bench.parse(new String[0]);
    assertThat(d.rate()).isEqualTo(1000);
    assertThat(d.connections()).isEqualTo(4);
    assertThat(d.holdConnections()).isEqualTo(10_000);
    assertThat(d.heyWarmupSeconds()).isEqualTo(5);
    assertThat(q.heyWarmupSeconds()).isEqualTo(3); // never longer than a recorded run unless asked
    assertThat(L4Bench.parse(new String[] {"--hey-warmup", "30"}).heyWarmupSeconds()).isEqualTo(30);
    assertThatThrownBy(() -> L4Bench.parse(new String[] {"--hey-warmup", "0"})).hasMessageContaining("--hey-warmup");
    assertThat(d.idlePauseSeconds()).isZero();
    assertThat(L4Bench.parse(new String[] {"--idle-pause", "120"}).idlePauseSeconds()).isEqualTo(120);

    assertThatThrownBy(() -> L4Bench.parse(new String[] {"--rate", "1001"}))
        .hasMessageContaining("multiple of --connections");
    assertThatThrownBy(() -> L4Bench.parse(new String[] {"--legs", "ae"})).hasMessageContaining("--legs");
    assertThatThrownBy(() -> L4Bench.parse(new String[] {"--inpod", "--lab-subnet", "0"}))
        .hasMessageContaining("--lab-subnet");
    assertThatThrownBy(() -> L4Bench.parse(new String[] {"--idle-pause", "-1"})).hasMessageContaining("--idle-pause must not be negative");
    assertThatThrownBy(() -> L4Bench.parse(new String[] {"--reps"})).hasMessageContaining("--reps needs a value");
    assertThatThrownBy(() -> L4Bench.parse(new String[] {"--bogus"})).hasMessageContaining("unknown option --bogus");
  }

  @Test
  void inpodAddsLegDWithItsLab() {
    L4Bench.Options o = L4Bench.parse(new String[] {"--legs", "ab", "--inpod", "--lab-subnet", "140"});
    assertThat(o.legs()).isEqualTo("abd");
    assertThat(o.labSubnet()).isEqualTo(140);
    assertThat(o.labState()).isEqualTo(java.nio.file.Path.of("/run/ambient-lab-bench-l4"));
    assertThat(L4Bench.parse(new String[] {"--legs", "ad", "--inpod"}).legs()).isEqualTo("ad");
    assertThat(L4Bench.parse(new String[0]).legs()).isEqualTo("abc");
  }

  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
      "pod benchl4/l4-server on node-1: 198.18.132.2|198.18.132.2",
      "pod benchl4/l4-client on node-0: 198.18.131.2 (captured)|198.18.131.2",
      "pod add: no agent|",
  })
  void podIpFromPodAddOutput(String out, String ip) {
    assertThat(InPodLab.podIp(out).orElse(null)).isEqualTo(ip);
  }

  @Test
  void ztunnelPidFromProcessesTxt() {
    String txt = "node-0\tcni-agent\tpid 11\ta.log\nnode-0\tztunnel\tpid 12\tz.log\nnode-1\tztunnel\tpid 22\tz.log\n"
        + "node-2\tztunnel\tSKIPPED\tz.log\nnode-3\tztunnel\tpid x\tz.log\n";
    assertThat(InPodLab.pid(txt, "node-0", "ztunnel")).hasValue(12);
    assertThat(InPodLab.pid(txt, "node-1", "ztunnel")).hasValue(22);
    assertThat(InPodLab.pid(txt, "node-2", "ztunnel")).isEmpty();
    assertThat(InPodLab.pid(txt, "node-3", "ztunnel")).isEmpty();
    assertThat(InPodLab.pid(txt, "node-4", "ztunnel")).isEmpty();
  }

  private static HeyResult hey(double p50, double p90, double p99) {
    return new HeyResult(1000, java.util.Map.of(50, p50, 90, p90, 99, p99), 1000, 0);
  }
}
