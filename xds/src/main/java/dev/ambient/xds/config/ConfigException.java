package dev.ambient.xds.config;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.databind.JsonMappingException;
import java.nio.file.Path;

/**
 * A configuration document that cannot be used, with the line and column of the offending value.
 *
 * <p>This is the only exception the parsers in this package throw for bad input; anything else is a bug.
 */
public final class ConfigException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final int line;
  private final int column;
  private final String reason;

  public ConfigException(int line, int column, String reason) {
    super(line + ":" + column + ": " + requireNonNull(reason, "reason"), null, false, false);
    this.line = line;
    this.column = column;
    this.reason = reason;
  }

  /**
   * Converts a Jackson failure, keeping the most useful part of its message. The location is that of the value
   * named by the exception's path in {@code text} when there is one (Jackson reports some binding failures at the
   * end of the enclosing object), else Jackson's own.
   */
  static ConfigException from(JacksonException e, String text) {
    JsonLocation loc = e instanceof JsonMappingException m && !m.getPath().isEmpty()
        ? Yaml.locate(text, m.getPath()) : null;
    if (loc == null) {
      loc = e.getLocation();
    }
    int line = loc == null ? 0 : Math.max(0, loc.getLineNr());
    int column = loc == null ? 0 : Math.max(0, loc.getColumnNr());
    return new ConfigException(line, column, reasonOf(e));
  }

  private static String reasonOf(JacksonException e) {
    Throwable cause = e.getCause();
    String reason;
    if (cause instanceof IllegalArgumentException || cause instanceof NullPointerException) {
      reason = cause instanceof NullPointerException ? "null value not allowed" : cause.getMessage();
    } else if (e instanceof com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException u) {
      reason = "unknown field '" + u.getPropertyName() + "'";
    } else {
      reason = e.getOriginalMessage();
      int nl = reason == null ? -1 : reason.indexOf('\n');
      if (nl > 0) {
        reason = reason.substring(0, nl);
      }
    }
    if (reason == null || reason.isBlank()) {
      reason = e.getClass().getSimpleName();
    }
    if (e instanceof JsonMappingException m && !m.getPath().isEmpty()) {
      reason = reason + " (at " + path(m) + ")";
    }
    return reason;
  }

  private static String path(JsonMappingException m) {
    StringBuilder sb = new StringBuilder();
    for (JsonMappingException.Reference r : m.getPath()) {
      if (r.getFieldName() != null) {
        if (!sb.isEmpty()) {
          sb.append('.');
        }
        sb.append(r.getFieldName());
      } else if (r.getIndex() >= 0) {
        sb.append('[').append(r.getIndex()).append(']');
      }
    }
    return sb.toString();
  }

  public int line() {
    return line;
  }

  public int column() {
    return column;
  }

  public String reason() {
    return reason;
  }

  /** This problem as a {@link ConfigError} in {@code file}. */
  public ConfigError in(Path file) {
    return new ConfigError(file, line, column, reason);
  }
}
