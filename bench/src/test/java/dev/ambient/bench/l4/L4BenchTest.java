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

  @Test
  void theTopologyTakesTheFirstSubnetNoAddressOrRouteMentions() {
    String idle = """
        1: lo    inet 127.0.0.1/8 scope host lo
        default via 203.0.113.1 dev eth0
        """;
    assertThat(L4Bench.freeSubnet(idle, List.of(0, 10, 20))).isEqualTo(0);
    // another bench (or a lab at its default subnet) holds 198.18.0.0/24: its route would win
    String busy = idle + """
        7: l4b36fc-br    inet 198.18.0.1/24 brd 198.18.0.255 scope global l4b36fc-br
        198.18.0.0/24 dev l4b36fc-br proto kernel scope link src 198.18.0.1
        198.18.10.0/24 dev zte1-br proto kernel scope link src 198.18.10.1
        """;
    assertThat(L4Bench.freeSubnet(busy, List.of(0, 10, 20))).isEqualTo(20);
    // 198.18.100.x does not make 198.18.10.0/24 busy
    assertThat(L4Bench.freeSubnet("198.18.100.0/24 dev x-br", List.of(10))).isEqualTo(10);
    assertThatThrownBy(() -> L4Bench.freeSubnet(busy, List.of(0, 10)))
        .isInstanceOf(IllegalStateException.class).hasMessageContaining("no free 198.18.S.0/24");
  }

  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
      "198.18.20.10 dev l4b1234-br src 198.18.20.1 uid 0 |l4b1234-br |true",
      "198.18.0.10 dev l4b36fc-br src 198.18.0.1 uid 0   |l4b1234-br |false", // another run's bridge wins
      "198.18.0.10 via 203.0.113.1 dev eth0 src 203.0.113.5 |l4b1234-br |false",
      "RTNETLINK answers: Network is unreachable           |l4b1234-br |false",
      "198.18.0.10 dev l4b1234-br-x src 198.18.0.1          |l4b1234-br |false",
  })
  void ownRoutesAreTheOnesThroughThisRunsBridge(String ipRouteGet, String bridge, boolean ours) {
    assertThat(L4Bench.routedVia(ipRouteGet, bridge)).isEqualTo(ours);
  }

  @Test
  void readinessCountsOnlyWhenTheProxyListenersAreBoundInTheNode() {
    String ready = """
        LISTEN 0      4096   [::ffff:127.0.0.1]:15001      *:*
        LISTEN 0      4096                    *:15006      *:*
        LISTEN 0      4096                 [::]:15008   [::]:*
        LISTEN 0      4096                 [::]:15021   [::]:*
        """;
    assertThat(L4Bench.missingListeners(ready, L4Bench.ZTUNNEL_PROXY_PORTS)).isEmpty();
    // admin and readiness up, xDS not synced yet: no proxy listener
    String starting = """
        LISTEN 0      4096            127.0.0.1:15000      0.0.0.0:*
        LISTEN 0      4096                 [::]:15020   [::]:*
        LISTEN 0      4096                 [::]:15021   [::]:*
        """;
    assertThat(L4Bench.missingListeners(starting, L4Bench.ZTUNNEL_PROXY_PORTS)).containsExactly(15001, 15006, 15008);
    assertThat(L4Bench.missingListeners("", L4Bench.ZTUNNEL_PROXY_PORTS)).containsExactly(15001, 15006, 15008);
    // 150010 is not 15001
    assertThat(L4Bench.missingListeners("LISTEN 0 10 0.0.0.0:150010 0.0.0.0:*", List.of(15001)))
        .containsExactly(15001);
  }

  private static HeyResult hey(double p50, double p90, double p99) {
    return new HeyResult(1000, java.util.Map.of(50, p50, 90, p90, 99, p99), 1000, 0);
  }
}
