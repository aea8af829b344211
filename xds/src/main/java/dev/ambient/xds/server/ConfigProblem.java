package dev.ambient.xds.server;

import static java.util.Objects.requireNonNull;

import java.nio.file.Path;

/**
 * A file the control plane could not use (or, as a warning, used but cannot enforce as written):
 * where, and why. Line and column are 1-based; 0 means unknown.
 */
public record ConfigProblem(Path file, int line, int column, String reason) {
  public ConfigProblem {
    requireNonNull(file, "file");
    requireNonNull(reason, "reason");
  }

  public ConfigProblem(Path file, int line, String reason) {
    this(file, line, 0, reason);
  }

  /** {@code file:line:column: reason}, the form editors jump to. */
  @Override
  public String toString() {
    if (line <= 0) {
      return file + ": " + reason;
    }
    return file + ":" + line + (column > 0 ? ":" + column : "") + ": " + reason;
  }
}
