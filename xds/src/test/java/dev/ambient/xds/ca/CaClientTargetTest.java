package dev.ambient.xds.ca;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class CaClientTargetTest {
  @ParameterizedTest
  @CsvSource({
      "https://istiod.istio-system.svc:15012, istiod.istio-system.svc:15012",
      "https://198.18.0.1:15012, 198.18.0.1:15012",
      "https://[2001:db8::1]:15012, [2001:db8::1]:15012",
      "https://istiod.istio-system.svc, istiod.istio-system.svc:443",
      "istiod.istio-system.svc:15012, istiod.istio-system.svc:15012",
      "127.0.0.1:15012, 127.0.0.1:15012",
  })
  void caAddressBecomesAGrpcTarget(String address, String target) {
    assertThat(CaClient.Builder.target(address)).isEqualTo(target);
  }

  @ParameterizedTest
  @CsvSource({"https://:15012", "https:///path"})
  void urlWithoutHostIsRefused(String address) {
    assertThatThrownBy(() -> CaClient.Builder.target(address)).isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("CA_ADDRESS has no host");
  }
}
