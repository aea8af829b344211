package dev.ambient.lab;

import dev.ambient.xds.config.ConfigDirectory;
import dev.ambient.xds.config.ConfigError;
import dev.ambient.xds.config.ConfigLoadResult;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * {@code lab apply -f FILE} (the part that is not Kubernetes Services, see {@link Manifests}): checks an Istio policy file (or control-plane local config) with the control
 * plane's own loader and, only when it loads without errors, writes it into {@code <config>/applied/}
 * where the control plane picks it up (the directory is watched). Applying a file with the same name
 * again replaces it, as {@code kubectl apply} would.
 */
final class PolicyFiles {
  private PolicyFiles() {}

  /** The outcome of an apply: where the file went and the control plane's warnings about it. */
  record Applied(Path target, List<String> warnings) {}

  static Applied apply(Path file, Path configDir) throws IOException {
    if (!Files.isRegularFile(file)) {
      throw new IllegalArgumentException("no such file: " + file);
    }
    return apply(file, Files.readString(file), configDir);
  }

  /** The name a file is applied under in {@code applied/}: its own, with {@code .yaml} added if needed. */
  static String appliedName(Path file) {
    String name = file.getFileName().toString();
    return name.endsWith(".yaml") || name.endsWith(".yml") ? name : name + ".yaml";
  }

  /** As {@link #apply(Path, Path)} with the file's text given (errors still name {@code file}). */
  static Applied apply(Path file, String text, Path configDir) throws IOException {
    List<String> warnings = check(file, text);
    String name = appliedName(file);
    Path dir = configDir.resolve("applied");
    Files.createDirectories(dir);
    Path tmp = dir.resolve("." + name + ".tmp");
    Files.writeString(tmp, text);
    Path target = dir.resolve(name);
    LabState.atomicMove(tmp, target);
    return new Applied(target, warnings);
  }

  /**
   * Loads {@code text} with the control plane's loader; its warnings, or an {@link IllegalArgumentException} listing
   * the errors at the user's file, line and column.
   */
  static List<String> check(Path file, String text) throws IOException {
    Path check = Files.createTempDirectory("lab-apply");
    try {
      Files.writeString(check.resolve(appliedName(file)), text);
      ConfigLoadResult r = ConfigDirectory.of(check).load();
      if (!r.errors().isEmpty()) {
        throw new IllegalArgumentException("not applied, " + file + " has errors:\n  "
            + String.join("\n  ", r.errors().stream().map(e -> describe(e, file)).toList()));
      }
      return r.warnings().stream().map(w -> describe(w, file)).toList();
    } finally {
      try (Stream<Path> s = Files.walk(check)) {
        for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
          Files.deleteIfExists(p);
        }
      }
    }
  }

  /** {@code lab delete -f FILE}: removes what {@code lab apply -f FILE} wrote; whether there was something. */
  static boolean delete(Path file, Path configDir) throws IOException {
    return Files.deleteIfExists(configDir.resolve("applied").resolve(appliedName(file)));
  }

  /** The error with the user's file name instead of the temporary copy's. */
  private static String describe(ConfigError e, Path file) {
    return file + ":" + e.line() + ":" + e.column() + ": " + e.reason();
  }
}
