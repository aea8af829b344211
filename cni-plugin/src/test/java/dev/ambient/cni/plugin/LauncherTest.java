package dev.ambient.cni.plugin;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ambient.cni.json.Json;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The {@code istio-cni} launcher script with a jar of the module's classes: the first run dumps the
 * AppCDS archive (published whole, nothing temporary left), later runs use it, a new jar gets a new
 * archive in place of the old, and stdout is the CNI result only throughout.
 */
class LauncherTest {
  static final Path LAUNCHER = Path.of("src/main/dist/istio-cni");

  @TempDir Path dir;
  Path jar;
  Path cds;

  @BeforeEach
  void jarOfTheModuleClasses() throws Exception {
    Path classes = Path.of(Main.class.getProtectionDomain().getCodeSource().getLocation().toURI());
    jar = dir.resolve("ambient-cni-plugin.jar");
    try (JarOutputStream out = new JarOutputStream(Files.newOutputStream(jar)); Stream<Path> files = Files.walk(classes)) {
      for (Path f : files.filter(Files::isRegularFile).toList()) {
        out.putNextEntry(new JarEntry(classes.relativize(f).toString().replace('\\', '/')));
        Files.copy(f, out);
        out.closeEntry();
      }
    }
    cds = Files.createDirectory(dir.resolve("cds"));
  }

  String version() throws Exception {
    ProcessBuilder pb = new ProcessBuilder("bash", LAUNCHER.toString());
    pb.environment().put("ISTIO_CNI_JAR", jar.toString());
    pb.environment().put("ISTIO_CNI_CDS_DIR", cds.toString());
    pb.environment().put("JAVA_HOME", System.getProperty("java.home"));
    pb.environment().put("CNI_COMMAND", "VERSION");
    pb.redirectError(ProcessBuilder.Redirect.DISCARD);
    Process p = pb.start();
    try (OutputStream in = p.getOutputStream()) {
      in.write("{\"cniVersion\":\"1.0.0\"}".getBytes(StandardCharsets.UTF_8));
    }
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).as(out).isZero();
    return out;
  }

  List<String> cdsFiles() throws IOException {
    try (Stream<Path> s = Files.list(cds)) {
      return s.map(f -> f.getFileName().toString()).sorted().toList();
    }
  }

  @Test
  void firstRunPublishesTheArchiveLaterRunsUseItANewJarReplacesIt() throws Exception {
    Map<String, Object> expected = Map.of("cniVersion", "1.0.0",
        "supportedVersions", List.of("0.3.0", "0.3.1", "0.4.0", "1.0.0"));
    assertThat(Json.parseObject(version())).isEqualTo(expected);
    List<String> first = cdsFiles();
    assertThat(first).singleElement().satisfies(n -> assertThat(n).startsWith("istio-cni-").endsWith(".jsa"));
    Path archive = cds.resolve(first.getFirst());
    assertThat(Files.size(archive)).isPositive();
    FileTime made = Files.getLastModifiedTime(archive);

    assertThat(Json.parseObject(version())).isEqualTo(expected);
    assertThat(cdsFiles()).isEqualTo(first);
    assertThat(Files.getLastModifiedTime(archive)).isEqualTo(made);

    Files.setLastModifiedTime(jar, FileTime.from(Instant.now().plusSeconds(120)));
    assertThat(Json.parseObject(version())).isEqualTo(expected);
    assertThat(cdsFiles()).singleElement().isNotEqualTo(first.getFirst());
  }

  @Test
  void anUnwritableArchiveDirectoryMeansNoArchiveNotAFailure() throws Exception {
    cds = dir.resolve("missing");
    assertThat(Json.parseObject(version())).containsEntry("cniVersion", "1.0.0");
    assertThat(Files.exists(cds)).isFalse();
  }
}
