package dev.ambient.ztunnel;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Jackson (~390 classes) is loaded only when there is a ProxyConfig to parse; checked in a fresh JVM. */
class ProxyConfigLazinessTest {

  /** Parses the environment of its arguments ({@code NAME=value}) and prints the proxy config. */
  public static void main(String[] args) {
    Map<String, String> env = new java.util.HashMap<>();
    for (String a : args) {
      env.put(a.substring(0, a.indexOf('=')), a.substring(a.indexOf('=') + 1));
    }
    System.out.println("config " + ProxyConfigParser.parse(new EnvReader(env), null));
  }

  @Test
  void noJacksonWithoutProxyConfig() throws Exception {
    String out = run();
    assertThat(out).contains("config ProxyConfig[");
    assertThat(out).contains("class,load] dev.ambient.ztunnel.ProxyConfigParser ")
        .doesNotContain("class,load] com.fasterxml.jackson");
  }

  @Test
  void jacksonWhenProxyConfigIsSet() throws Exception {
    String out = run("PROXY_CONFIG=statsPort: 16020");
    assertThat(out).contains("statsPort=16020")
        .contains("class,load] com.fasterxml.jackson.dataformat.yaml.YAMLMapper ");
  }

  private static String run(String... env) throws Exception {
    List<String> cmd = new java.util.ArrayList<>(List.of(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xshare:auto", "-Xlog:class+load=info",
        "-cp", System.getProperty("java.class.path"), ProxyConfigLazinessTest.class.getName()));
    cmd.addAll(List.of(env));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    byte[] out = p.getInputStream().readAllBytes();
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).isZero();
    return new String(out, StandardCharsets.UTF_8);
  }
}
