package dev.ambient.cni.plugin;

import dev.ambient.cni.json.Json;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The plugin's log: JSON lines ({@code level}, {@code time}, {@code msg}) appended to a file, rolled
 * to {@code <file>.1} past 10 MB (spec §1.9). Never stdout: stdout is the CNI result. A log that
 * cannot be written is silently given up, never a reason to fail the CNI call.
 */
final class PluginLog {
  static final long ROLL_BYTES = 10L * 1024 * 1024;

  private final Path file;
  private final boolean debug;
  private boolean broken;

  PluginLog(Path file, String level) {
    this.file = file;
    this.debug = level.equalsIgnoreCase("debug");
  }

  boolean debugEnabled() {
    return debug;
  }

  /**
   * Wall time since the launcher started ({@code -Distio.cni.launched=$EPOCHREALTIME}, seconds with a
   * fraction), e.g. "212 ms since the launcher started", or "" when not launched by it.
   */
  static String sinceLaunch() {
    String v = System.getProperty("istio.cni.launched", "");
    try {
      long micros = new java.math.BigDecimal(v.replace(',', '.')).movePointRight(6).longValue();
      return ", " + (System.currentTimeMillis() - micros / 1000) + " ms since the launcher started";
    } catch (NumberFormatException e) {
      return "";
    }
  }

  void debug(String msg) {
    if (debug) {
      write("debug", msg);
    }
  }

  void info(String msg) {
    write("info", msg);
  }

  void error(String msg) {
    write("error", msg);
  }

  private void write(String level, String msg) {
    if (broken) {
      return;
    }
    Map<String, Object> line = new LinkedHashMap<>();
    line.put("level", level);
    line.put("time", Instant.now().toString());
    line.put("scope", "cni-plugin");
    line.put("msg", msg);
    try {
      Path dir = file.getParent();
      if (dir != null) {
        Files.createDirectories(dir);
      }
      if (Files.exists(file) && Files.size(file) > ROLL_BYTES) {
        Files.move(file, file.resolveSibling(file.getFileName() + ".1"), StandardCopyOption.REPLACE_EXISTING);
      }
      Files.writeString(file, Json.write(line) + "\n", StandardCharsets.UTF_8,
          StandardOpenOption.CREATE, StandardOpenOption.APPEND, StandardOpenOption.WRITE);
    } catch (IOException | RuntimeException e) {
      broken = true;
    }
  }
}
