package dev.ambient.xds.client;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.Status;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class BackoffTest {
  @Test
  void classify_perSpec() {
    assertThat(Backoff.classify(Status.UNKNOWN, true)).isEqualTo(Backoff.Reason.RECONNECT);
    assertThat(Backoff.classify(Status.CANCELLED, true)).isEqualTo(Backoff.Reason.RECONNECT);
    assertThat(Backoff.classify(Status.DEADLINE_EXCEEDED, false)).isEqualTo(Backoff.Reason.RECONNECT);
    assertThat(Backoff.classify(Status.UNAVAILABLE.withDescription("x: transport is closing"), true))
        .isEqualTo(Backoff.Reason.RECONNECT);
    assertThat(Backoff.classify(Status.UNAVAILABLE.withDescription("received prior goaway: code: NO_ERROR"), false))
        .isEqualTo(Backoff.Reason.RECONNECT);
    assertThat(Backoff.classify(Status.UNAVAILABLE.withDescription("io exception"), false))
        .isEqualTo(Backoff.Reason.CONNECTION_ERROR);
    assertThat(Backoff.classify(Status.UNAVAILABLE, true)).isEqualTo(Backoff.Reason.ERROR);
    assertThat(Backoff.classify(Status.PERMISSION_DENIED, false)).isEqualTo(Backoff.Reason.ERROR);
    assertThat(Backoff.classify(Status.OK, true)).isEqualTo(Backoff.Reason.COMPLETE);
  }

  @Test
  void delays_doubleToCap_resetByReconnectAndComplete() {
    Backoff b = new Backoff();
    assertThat(b.onTermination(Backoff.Reason.CONNECTION_ERROR)).isEqualTo(Duration.ofMillis(10));
    assertThat(b.onTermination(Backoff.Reason.ERROR)).isEqualTo(Duration.ofMillis(20));
    assertThat(b.onTermination(Backoff.Reason.ERROR)).isEqualTo(Duration.ofMillis(40));
    assertThat(b.onTermination(Backoff.Reason.RECONNECT)).isEqualTo(Duration.ofMillis(10));
    assertThat(b.onTermination(Backoff.Reason.ERROR)).isEqualTo(Duration.ofMillis(10));
    assertThat(b.onTermination(Backoff.Reason.ERROR)).isEqualTo(Duration.ofMillis(20));
    assertThat(b.onTermination(Backoff.Reason.COMPLETE)).isEqualTo(Duration.ZERO);
    assertThat(b.onTermination(Backoff.Reason.ERROR)).isEqualTo(Duration.ofMillis(10));
    Duration last = Duration.ZERO;
    for (int i = 0; i < 20; i++) {
      last = b.onTermination(Backoff.Reason.CONNECTION_ERROR);
    }
    assertThat(last).isEqualTo(Duration.ofSeconds(15));
  }
}
