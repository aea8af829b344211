package dev.ambient.bench.l4;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;

/** Parsing hey's summary (outputs captured from hey against FixedResponseServer). */
class HeyResultTest {
  static final String OK = """

      Summary:
        Total:	1.0136 secs
        Slowest:	0.0955 secs
        Fastest:	0.0003 secs
        Average:	0.0030 secs
        Requests/sec:	187.4525
       \s
        Total data:	194560 bytes
        Size/request:	1024 bytes

      Response time histogram:
        0.000 [1]	|
        0.010 [182]	|■■■■■■■■■■■■■■■■■■■■■■■■■■■■■■■■■■■■■■■■
        0.096 [1]	|


      Latency distribution:
        10% in 0.0007 secs
        25% in 0.0009 secs
        50% in 0.0010 secs
        75% in 0.0011 secs
        90% in 0.0013 secs
        95% in 0.0014 secs
        99% in 0.0955 secs

      Details (average, fastest, slowest):
        DNS+dialup:	0.0000 secs, 0.0003 secs, 0.0955 secs
        resp read:	0.0000 secs, 0.0000 secs, 0.0002 secs

      Status code distribution:
        [200]	190 responses
        [503]	3 responses
      """;
  static final String ALL_FAILED = """

      Summary:
        Total:	0.0006 secs
        Requests/sec:	6786.1596

      Response time histogram:


      Latency distribution:

      Status code distribution:

      Error distribution:
        [4]	Get "http://127.0.0.1:18998/": dial tcp 127.0.0.1:18998: connect: connection refused
      """;

  @Test
  void readsRatePercentilesAndOkResponses() {
    HeyResult r = HeyResult.parse(OK);

    assertThat(r.requestsPerSecond()).isEqualTo(187.4525);
    assertThat(r.percentiles()).containsOnlyKeys(10, 25, 50, 75, 90, 95, 99);
    assertThat(r.millis(50)).isCloseTo(1.0, within(1e-9));
    assertThat(r.millis(90)).isCloseTo(1.3, within(1e-9));
    assertThat(r.millis(99)).isCloseTo(95.5, within(1e-9));
    assertThat(r.millis(42)).isNaN();
    assertThat(r.ok()).isEqualTo(190); // the 503s are not ok
    assertThat(r.errors()).isZero();
  }

  @Test
  void countsErrorsNextToResponses() {
    HeyResult r = HeyResult.parse(OK + """

        Error distribution:
          [7]	Get "http://198.18.0.11:8080/": EOF
          [2]	Get "http://198.18.0.11:8080/": read: connection reset by peer
        """);

    assertThat(r.errors()).isEqualTo(9);
    assertThat(r.ok()).isEqualTo(190);
  }

  @Test
  void aRunWhereEveryRequestFailedIsAnErrorThatShowsHeysOutput() {
    assertThatThrownBy(() -> HeyResult.parse(ALL_FAILED))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("no latency distribution")
        .hasMessageContaining("connection refused");
  }

  @Test
  void somethingThatIsNotHeyOutputIsRejected() {
    assertThatThrownBy(() -> HeyResult.parse("hey: command not found"))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("no 'Requests/sec'");
  }
}
