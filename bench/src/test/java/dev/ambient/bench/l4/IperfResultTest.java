package dev.ambient.bench.l4;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;

/** Parsing iperf3 -J (shapes captured from iperf 3.12). */
class IperfResultTest {
  @Test
  void readsTheReceiverSum() {
    IperfResult r = IperfResult.parse("""
        {"start": {"version": "iperf 3.12"}, "intervals": [],
         "end": {
           "sum_sent": {"start": 0, "end": 1.0, "seconds": 1.0, "bytes": 9, "bits_per_second": 72, "retransmits": 0},
           "sum_received": {
             "start":	0,
             "end":	1.001976,
             "seconds":	1.001976,
             "bytes":	1564082176,
             "bits_per_second":	12487981157.233307,
             "sender":	true
           },
           "cpu_utilization_percent": {"host_total": 12.5}}}
        """);

    assertThat(r.gbps()).isCloseTo(12.487981157, within(1e-6));
    assertThat(r.bytes()).isEqualTo(1564082176L);
    assertThat(r.seconds()).isCloseTo(1.001976, within(1e-9));
  }

  @Test
  void iperfsOwnErrorIsReported() {
    assertThatThrownBy(() -> IperfResult.parse("""
        {"start": {"connected": []}, "intervals": [], "end": {},
         "error": "unable to connect to server: Connection refused"}
        """))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("iperf3: unable to connect to server: Connection refused");
  }

  @Test
  void outputWithoutAReceiverSumIsRejected() {
    assertThatThrownBy(() -> IperfResult.parse("{\"end\": {}}"))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("no end.sum_received");
    assertThatThrownBy(() -> IperfResult.parse("{\"end\": {\"sum_received\": {\"bytes\": 1}}}"))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("no bits_per_second");
  }
}
