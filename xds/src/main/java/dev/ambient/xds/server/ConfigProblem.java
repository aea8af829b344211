package dev.ambient.xds.server;

import static java.util.Objects.requireNonNull;

import java.nio.file.Path;

/** A file the control plane could not use: where, and why. Line 0 means the whole file. */
public record ConfigProblem(Path file, int line, String reason) {
  public ConfigProblem {
    requireNonNull(file, "file");
    requireNonNull(reason, "reason");
  }

  @Override
  public String toString() {
    return line > 0 ? file + ":" + line + ": " + reason : file + ": " + reason;
  }
}
