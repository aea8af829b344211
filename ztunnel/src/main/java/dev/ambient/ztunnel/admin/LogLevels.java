package dev.ambient.ztunnel.admin;

import static java.util.Objects.requireNonNull;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.jspecify.annotations.Nullable;
import org.slf4j.ILoggerFactory;
import org.slf4j.LoggerFactory;

/**
 * The {@code /logging} level control over logback (spec §9.5). A filter is {@code RUST_LOG}-like:
 * comma-separated {@code level} (the root logger) or {@code target=level} entries, where a target is
 * a logger name ({@code access}, {@code dev.ambient.hbone}; Rust's {@code ::} is read as {@code .}).
 * Changes apply on top of the current levels; {@link #reset()} restores the levels seen at
 * construction. Levels: {@code trace, debug, info, warn, error, off}. Thread-safe (synchronized).
 */
public final class LogLevels {
  private final LoggerContext context;
  /** Explicit level of every logger at construction (null = inherited). */
  private final Map<String, @Nullable Level> initial = new HashMap<>();

  LogLevels(LoggerContext context) {
    this.context = requireNonNull(context, "context");
    for (Logger l : context.getLoggerList()) {
      initial.put(l.getName(), l.getLevel());
    }
  }

  /** The levels of the process's logback context; throws when logback is not the SLF4J binding. */
  static LogLevels ofProcess() {
    ILoggerFactory f = LoggerFactory.getILoggerFactory();
    if (!(f instanceof LoggerContext lc)) {
      throw new IllegalStateException("log levels can only be changed with logback; SLF4J is bound to "
          + f.getClass().getName());
    }
    return new LogLevels(lc);
  }

  /**
   * Parses a filter into target → level, in order ({@code ""} is the root logger).
   *
   * @throws IllegalArgumentException naming the bad entry
   */
  static Map<String, Level> parse(String filter) {
    Map<String, Level> out = new LinkedHashMap<>();
    for (String raw : filter.split(",", -1)) {
      String entry = raw.strip();
      if (entry.isEmpty()) {
        continue;
      }
      int eq = entry.lastIndexOf('=');
      String target = eq < 0 ? "" : entry.substring(0, eq).strip().replace("::", ".");
      String level = eq < 0 ? entry : entry.substring(eq + 1).strip();
      if (eq >= 0 && target.isEmpty()) {
        throw new IllegalArgumentException("invalid log filter entry '" + entry + "': empty target");
      }
      out.put(target, level(level, entry));
    }
    if (out.isEmpty()) {
      throw new IllegalArgumentException("empty log filter: use e.g. level=debug or level=access=debug,info");
    }
    return out;
  }

  private static Level level(String name, String entry) {
    return switch (name.toLowerCase(Locale.ROOT)) {
      case "trace" -> Level.TRACE;
      case "debug" -> Level.DEBUG;
      case "info" -> Level.INFO;
      case "warn", "warning" -> Level.WARN;
      case "error" -> Level.ERROR;
      case "off" -> Level.OFF;
      default -> throw new IllegalArgumentException("invalid log level '" + name + "' in '" + entry
          + "': use trace, debug, info, warn, error or off");
    };
  }

  /**
   * Applies the start-up filter ({@code RUST_LOG}) to the process's logback context, before the
   * admin server records the levels {@code /logging?reset} returns to.
   *
   * @throws IllegalArgumentException naming the bad entry
   */
  public static String applyAtStartup(String filter) {
    return ofProcess().apply(filter);
  }

  /** Applies {@code filter} (validated fully before anything changes) and returns the new levels. */
  synchronized String apply(String filter) {
    Map<String, Level> levels = parse(filter);
    levels.forEach((target, level) -> logger(target).setLevel(level));
    return describe();
  }

  /** Restores the levels at construction and returns them. */
  synchronized String reset() {
    for (Logger l : context.getLoggerList()) {
      Level level = initial.get(l.getName());
      if (l.getName().equals(org.slf4j.Logger.ROOT_LOGGER_NAME)) {
        l.setLevel(level == null ? Level.DEBUG : level); // the root must keep a level
      } else {
        l.setLevel(level);
      }
    }
    return describe();
  }

  /** The current filter: the root level, then every logger with an explicit level, sorted by name. */
  synchronized String describe() {
    Logger root = context.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
    List<String> parts = new ArrayList<>();
    parts.add(name(root.getEffectiveLevel()));
    context.getLoggerList().stream()
        .filter(l -> l != root && l.getLevel() != null)
        .sorted((a, b) -> a.getName().compareTo(b.getName()))
        .forEach(l -> parts.add(l.getName() + "=" + name(requireNonNull(l.getLevel()))));
    return String.join(",", parts);
  }

  private Logger logger(String target) {
    return context.getLogger(target.isEmpty() ? org.slf4j.Logger.ROOT_LOGGER_NAME : target);
  }

  private static String name(Level level) {
    return level.toString().toLowerCase(Locale.ROOT);
  }
}
