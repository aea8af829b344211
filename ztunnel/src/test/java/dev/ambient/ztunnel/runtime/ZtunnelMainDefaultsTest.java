package dev.ambient.ztunnel.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import java.util.Properties;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class ZtunnelMainDefaultsTest {
  @ParameterizedTest(name = "{0}={1} => {2}")
  @CsvSource(nullValues = "-", value = {
      // property set on the command line, its value, the leak level the process gets set (- = none)
      "-,                            -,        disabled",
      "io.netty.leakDetection.level, paranoid, -",
      "io.netty.leakDetection.level, simple,   -",
      "io.netty.leakDetectionLevel,  advanced, -",
      "io.netty.allocator.type,      pooled,   disabled",
  })
  void leakDetectionIsOffUnlessTheCommandLineChoseALevel(String key, String value, String expected) {
    Properties current = new Properties();
    if (key != null) {
      current.setProperty(key, value);
    }
    Map<String, String> defaults = ZtunnelMain.productionDefaults(current);
    if (expected == null) {
      assertThat(defaults).isEmpty();
    } else {
      assertThat(defaults).containsExactly(Map.entry(ZtunnelMain.LEAK_DETECTION_LEVEL, expected));
    }
  }
}
