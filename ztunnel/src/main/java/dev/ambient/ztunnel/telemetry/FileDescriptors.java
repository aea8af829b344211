package dev.ambient.ztunnel.telemetry;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.OptionalLong;
import java.util.stream.Stream;

/** {@code process_open_fds} and {@code process_max_fds} from {@code /proc/self} (Linux). */
final class FileDescriptors {
  private static final Path FD_DIR = Path.of("/proc/self/fd");
  private static final Path LIMITS = Path.of("/proc/self/limits");

  private FileDescriptors() {}

  /** Open descriptors of this process, or NaN when {@code /proc} is not readable. */
  static double open() {
    try (Stream<Path> fds = Files.list(FD_DIR)) {
      return fds.count() - 1; // minus the directory stream's own descriptor
    } catch (IOException | RuntimeException e) {
      return Double.NaN;
    }
  }

  /** The soft {@code RLIMIT_NOFILE}, or NaN when unknown. */
  static double max() {
    try {
      OptionalLong soft = softLimit(Files.readString(LIMITS));
      return soft.isPresent() ? soft.getAsLong() : Double.NaN;
    } catch (IOException | RuntimeException e) {
      return Double.NaN;
    }
  }

  /**
   * The soft limit of the {@code Max open files} row of a {@code /proc/<pid>/limits} text; empty
   * when the row is missing or the value is {@code unlimited} or malformed.
   */
  static OptionalLong softLimit(String limits) {
    for (String line : limits.split("\n")) {
      if (!line.startsWith("Max open files")) {
        continue;
      }
      String[] cols = line.substring("Max open files".length()).strip().split("\\s+");
      if (cols.length == 0) {
        return OptionalLong.empty();
      }
      try {
        return OptionalLong.of(Long.parseLong(cols[0]));
      } catch (NumberFormatException e) {
        return OptionalLong.empty();
      }
    }
    return OptionalLong.empty();
  }
}
