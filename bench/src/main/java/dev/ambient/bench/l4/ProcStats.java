package dev.ambient.bench.l4;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** CPU time and resident memory of a process and its descendants, from /proc. */
final class ProcStats {
  /** USER_HZ: the unit of utime/stime in /proc/PID/stat; 100 on every Linux architecture we run on. */
  static final int CLOCK_TICKS = 100;

  private ProcStats() {}

  /** utime + stime in seconds of {@code pid} and its live descendants (0 for processes that are gone). */
  static double cpuSeconds(long pid) {
    double sum = 0;
    for (long p : withDescendants(pid)) {
      try {
        sum += cpuTicks(Files.readString(Path.of("/proc", Long.toString(p), "stat"))) / (double) CLOCK_TICKS;
      } catch (IOException e) {
        // exited in between
      }
    }
    return sum;
  }

  /** VmRSS in bytes of {@code pid} and its live descendants. */
  static long rssBytes(long pid) {
    long sum = 0;
    for (long p : withDescendants(pid)) {
      try {
        sum += vmRssBytes(Files.readString(Path.of("/proc", Long.toString(p), "status")));
      } catch (IOException e) {
        // exited in between
      }
    }
    return sum;
  }

  private static List<Long> withDescendants(long pid) {
    List<Long> all = new ArrayList<>();
    all.add(pid);
    ProcessHandle.of(pid).ifPresent(h -> h.descendants().forEach(d -> all.add(d.pid())));
    return all;
  }

  /** The hard "Max open files" limit of a /proc/PID/limits text; Long.MAX_VALUE for "unlimited". */
  static long openFilesHardLimit(String limits) {
    for (String line : limits.split("\n")) {
      if (line.startsWith("Max open files")) {
        String[] f = line.substring("Max open files".length()).strip().split("\\s+");
        return f[1].equals("unlimited") ? Long.MAX_VALUE : Long.parseLong(f[1]);
      }
    }
    throw new IllegalArgumentException("no 'Max open files' line in /proc/PID/limits");
  }

  /**
   * utime + stime (fields 14 and 15) of a /proc/PID/stat line. The command name (field 2) may hold
   * spaces and parentheses, so the fields are counted from after its last ')'.
   */
  static long cpuTicks(String stat) {
    int close = stat.lastIndexOf(')');
    if (close < 0) {
      throw new IllegalArgumentException("not a /proc/PID/stat line: " + stat.strip());
    }
    String[] f = stat.substring(close + 1).strip().split("\\s+");
    // f[0] is field 3 (state), so field n is f[n - 3].
    if (f.length < 13) {
      throw new IllegalArgumentException("too few fields in /proc/PID/stat: " + stat.strip());
    }
    return Long.parseLong(f[11]) + Long.parseLong(f[12]);
  }

  /** VmRSS of a /proc/PID/status text, in bytes (0 when absent, as for kernel threads and zombies). */
  static long vmRssBytes(String status) {
    for (String line : status.split("\n")) {
      if (line.startsWith("VmRSS:")) {
        String[] f = line.substring(6).strip().split("\\s+");
        return Long.parseLong(f[0]) * 1024;
      }
    }
    return 0;
  }
}
