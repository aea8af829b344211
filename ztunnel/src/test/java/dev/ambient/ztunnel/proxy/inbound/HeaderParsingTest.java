package dev.ambient.ztunnel.proxy.inbound;

import static dev.ambient.ztunnel.state.Fixtures.workload;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** {@code forwarded} and {@code baggage} as the inbound path reads and writes them. */
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

  @Test
  void baggage_parsesMembers_skipsMalformed_dropsProperties() {
    assertThat(Baggage.parse("a=1,=x,b,c=3;prop=1, d = 4 ,a=dup")).containsExactly(
        Map.entry("a", "1"), Map.entry("c", "3"), Map.entry("d", "4"));
  }

  @Test
  void baggage_ofWorkload_describesIt() {
    assertThat(Baggage.of(workload("server").build())).isEqualTo(
        "k8s.cluster.name=Kubernetes,k8s.namespace.name=default,k8s.deployment.name=server,"
            + "service.name=server,service.version=v1");
  }
}
