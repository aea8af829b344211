package dev.ambient.ztunnel.proxy.outbound;

import static dev.ambient.ztunnel.state.Fixtures.ip;
import static org.assertj.core.api.Assertions.assertThat;

import dev.ambient.hbone.HboneException;
import dev.ambient.ztunnel.telemetry.ResponseFlag;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.HashSet;
import java.util.Optional;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** CONNECT header values (spec §4.5) and the failure → response flag table. */
class ConnectHeadersTest {

  @ParameterizedTest(name = "{0}:{1} host={2} -> {3}")
  @CsvSource({
      "198.18.0.1,  4711, '',                           'for=\"198.18.0.1:4711\"'",
      "198.18.0.1,  4711, svc.default.svc.cluster.local, 'for=\"198.18.0.1:4711\";host=svc.default.svc.cluster.local'",
      "2001:db8::1, 80,   '',                           'for=\"[2001:db8:0:0:0:0:0:1]:80\"'",
  })
  void forwarded(String address, int port, String host, String expected) {
    assertThat(ConnectHeaders.forwarded(new InetSocketAddress(ip(address), port),
        host.isEmpty() ? Optional.empty() : Optional.of(host))).isEqualTo(expected);
  }

  @Test
  void traceparent_w3cFormat_randomPerCall() {
    SplittableRandom random = new SplittableRandom(3);
    Set<String> seen = new HashSet<>();
    for (int i = 0; i < 100; i++) {
      String t = ConnectHeaders.traceparent(random);
      assertThat(t).hasSize(55).matches("00-[0-9a-f]{32}-[0-9a-f]{16}-00")
          .doesNotContain("-00000000000000000000000000000000-").doesNotContain("-0000000000000000-");
      seen.add(t);
    }
    assertThat(seen).hasSize(100);
  }

  @ParameterizedTest(name = "{0} -> {1}")
  @CsvSource({
      "tls,     TLS_FAILURE",
      "timeout, NETWORK_POLICY",
      "status,  CONNECT",
      "refused, CONNECT",
      "other,   CONNECT",
  })
  void responseFlag(String failure, ResponseFlag expected) {
    InetSocketAddress dst = new InetSocketAddress(ip("198.18.0.3"), 15008);
    Throwable t = switch (failure) {
      case "tls" -> HboneException.tlsFailure(dst, new IOException("SAN mismatch"));
      case "timeout" -> HboneException.connectTimeout(dst, 10_000);
      case "status" -> HboneException.httpStatus(dst, "198.18.0.3:80", 401);
      case "refused" -> HboneException.connectFailed(dst, new IOException("refused"));
      default -> new IllegalStateException("x");
    };
    assertThat(OutboundProxy.flag(t)).isEqualTo(expected);
  }
}
