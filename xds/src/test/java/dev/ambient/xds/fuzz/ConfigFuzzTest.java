package dev.ambient.xds.fuzz;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.ambient.xds.config.ConfigDirectory;
import dev.ambient.xds.config.ConfigError;
import dev.ambient.xds.config.ConfigException;
import dev.ambient.xds.config.ConfigLoadResult;
import dev.ambient.xds.config.LocalConfig;
import dev.ambient.xds.config.LocalConfigParser;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Fuzz targets for YAML loading: {@link LocalConfigParser#parse(String)} only ever returns a config or throws
 * {@link ConfigException}; {@link ConfigDirectory#load()} never throws and reports bad content as a
 * {@link ConfigError} naming the file, a line &gt;= 0 and a reason.
 *
 * <p>Inputs are raw bytes, so a seed file is plain YAML text (seeds: {@code src/test/resources/dev/ambient/xds/fuzz/
 * ConfigFuzzTestInputs/<method>/}).
 */
class ConfigFuzzTest {
  /** One directory for the whole run; each input rewrites its one file. */
  private static final Path DIR;
  private static final Path FILE;

  static {
    try {
      DIR = Files.createTempDirectory("config-fuzz");
      FILE = DIR.resolve("fuzzed.yaml");
      DIR.toFile().deleteOnExit();
      FILE.toFile().deleteOnExit(); // deleted before DIR: deleteOnExit runs in reverse order
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @FuzzTest(maxDuration = "2m")
  void localConfigYaml(byte[] data) {
    String yaml = new String(data, StandardCharsets.UTF_8);
    try {
      LocalConfig config = LocalConfigParser.parse(yaml);
      assertThat(config).isNotNull();
      assertThat(config.addresses()).doesNotContainKey(null);
    } catch (ConfigException e) {
      assertThat(e.reason()).isNotBlank();
      assertThat(e.line()).isNotNegative();
      assertThat(e.column()).isNotNegative();
    }
  }

  @FuzzTest(maxDuration = "2m")
  void configDirectory(byte[] data) throws IOException {
    Files.write(FILE, data);
    ConfigLoadResult result = ConfigDirectory.of(DIR).load();
    assertThat(result.snapshot()).isNotNull();
    for (ConfigError e : result.errors()) {
      assertThat(e.file()).isEqualTo(FILE);
      assertThat(e.line()).isNotNegative();
      assertThat(e.column()).isNotNegative();
      assertThat(e.reason()).isNotBlank();
    }
    for (ConfigError w : result.warnings()) {
      assertThat(w.line()).isNotNegative();
      assertThat(w.reason()).isNotBlank();
    }
  }
}
