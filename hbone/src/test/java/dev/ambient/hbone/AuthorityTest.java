package dev.ambient.hbone;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class AuthorityTest {
  @ParameterizedTest(name = "{0} -> host {1}, port {2}, ip {3}")
  @CsvSource({
    "198.18.0.5:8080, 198.18.0.5, 8080, true",
    "'[2001:db8::1]:443', 2001:db8::1, 443, true",
    "'[::ffff:198.18.0.1]:80', 198.18.0.1, 80, true",
    "echo.default.svc.cluster.local:80, echo.default.svc.cluster.local, 80, false",
    "my-host:1, my-host, 1, false",
    "svc:65535, svc, 65535, false",
  })
  void parse_validAuthority(String text, String host, int port, boolean ip) {
    Authority a = Authority.parse(text).orElseThrow();
    assertThat(a.host()).isEqualTo(host);
    assertThat(a.port()).isEqualTo(port);
    assertThat(a.isIp()).isEqualTo(ip);
  }

  @ParameterizedTest(name = "''{0}'' is refused")
  @ValueSource(strings = {
    "", "host", "198.18.0.5", "198.18.0.5:", ":80", "host:0", "host:65536", "host:8x", "2001:db8::1:80",
    "[2001:db8::1]", "[2001:db8::1]80", "[nonsense]:80", "a b:80", "-bad.example:80", "bad..example:80",
    "host:+80", "host:123456"
  })
  void parse_invalidAuthority_isEmpty(String text) {
    assertThat(Authority.parse(text)).isEmpty();
  }

  @ParameterizedTest
  @CsvSource({"198.18.0.5:8080", "'[2001:db8::1]:443'", "svc.ns:80"})
  void toString_roundTrips(String text) {
    assertThat(Authority.parse(text).orElseThrow().toString()).isEqualTo(text);
  }
}
