package dev.ambient.ztunnel.proxy.inbound;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** {@code forwarded} as the inbound path reads it ({@code baggage}: telemetry.BaggageTest). */
class HeaderParsingTest {
  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
      "for=\"198.18.0.1:5\";host=svc.ns.svc.cluster.local | svc.ns.svc.cluster.local",
      "for=\"198.18.0.1:5\";Host=\"quoted.example\"     | quoted.example",
      "host=first, host=second                            | first",
      "for=\"198.18.0.1:5\"                              | ''",
      "host=                                              | ''",
      "garbage                                            | ''"})
  void forwardedHost(String header, String expected) {
    assertThat(Forwarded.host(header).orElse("")).isEqualTo(expected);
  }
}
