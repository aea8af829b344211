package dev.ambient.xds.config;

import static java.util.Objects.requireNonNull;

import java.nio.file.Path;

/**
 * One problem found while loading configuration, pointing at the place to fix.
 *
 * @param file the file the problem is in
 * @param line 1-based line, or 0 when unknown
 * @param column 1-based column, or 0 when unknown
 * @param reason what is wrong, in words
 */
public record ConfigError(Path file, int line, int column, String reason) {
  public ConfigError {
    requireNonNull(file, "file");
    requireNonNull(reason, "reason");
  }

  /** {@code file:line:column: reason}, the form compilers use, so editors can jump to it. */
  @Override
  public String toString() {
    return file + ":" + line + ":" + column + ": " + reason;
  }
}
