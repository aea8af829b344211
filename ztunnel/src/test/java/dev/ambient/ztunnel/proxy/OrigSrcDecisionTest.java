package dev.ambient.ztunnel.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ambient.ztunnel.ZtunnelConfig;
import dev.ambient.ztunnel.ZtunnelConfig.OrigSrc;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Decision 0009: when a ztunnel spoofs the client address towards the local app. */
class OrigSrcDecisionTest {
  @ParameterizedTest(name = "{0} ENABLE_ORIG_SRC={1} -> {2}")
  @CsvSource({
      "shared, '', AUTO",
      "shared, true, ENABLED",
      "shared, false, DISABLED",
      "dedicated, '', DISABLED",
      "dedicated, true, ENABLED",
      "dedicated, false, DISABLED",
  })
  void effectiveMode(String mode, String setting, OrigSrc expected) {
    Map<String, String> env = new HashMap<>();
    env.put("PROXY_MODE", mode);
    if (mode.equals("dedicated")) {
      env.put("PROXY_WORKLOAD_INFO", "default/app/app");
    }
    if (!setting.isEmpty()) {
      env.put("ENABLE_ORIG_SRC", setting);
    }
    assertThat(LinuxProxySockets.effectiveOrigSrc(ZtunnelConfig.fromEnvironment(env))).isEqualTo(expected);
  }
}
