package dev.ambient.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/** What every benchmark records about the machine it ran on (for the results JSON and docs/performance.md). */
public final class MachineFacts {
  private MachineFacts() {}

  /** Load, cores, CPU model, memory, kernel, OS and JDK, in a stable order; callers add their own. */
  public static Map<String, String> common() {
    Map<String, String> m = new LinkedHashMap<>();
    m.put("loadavg_at_start", read(Path.of("/proc/loadavg")));
    m.put("nproc", Integer.toString(Runtime.getRuntime().availableProcessors()));
    m.put("cpu", firstMatch(Path.of("/proc/cpuinfo"), "model name"));
    m.put("memory", firstMatch(Path.of("/proc/meminfo"), "MemTotal"));
    m.put("kernel", read(Path.of("/proc/sys/kernel/osrelease")));
    m.put("os", osName());
    m.put("jdk", System.getProperty("java.vm.name") + " " + System.getProperty("java.runtime.version"));
    return m;
  }

  /** Fraction of all CPUs busy over {@code millis}, from /proc/stat. */
  static double cpuBusy(long millis) throws InterruptedException {
    long[] a = cpuTimes();
    Thread.sleep(millis);
    return busy(a, cpuTimes());
  }

  /** Fraction of CPU time busy between two {@link #cpuTimes()} readings. */
  static double busy(long[] a, long[] b) {
    double total = b[0] - a[0];
    return total <= 0 ? 0 : 1 - (b[1] - a[1]) / total;
  }

  /** {total jiffies, idle + iowait jiffies} of all CPUs. */
  static long[] cpuTimes() {
    String line = read(Path.of("/proc/stat")).lines().filter(l -> l.startsWith("cpu ")).findFirst().orElse("cpu 0 0 0 0");
    String[] f = line.trim().split("\\s+");
    long total = 0;
    for (int i = 1; i < f.length; i++) {
      total += Long.parseLong(f[i]);
    }
    long idle = Long.parseLong(f[4]) + (f.length > 5 ? Long.parseLong(f[5]) : 0);
    return new long[] {total, idle};
  }

  /** A file's text, trimmed, or "?" when it cannot be read. */
  public static String read(Path p) {
    try {
      return new String(Files.readAllBytes(p), StandardCharsets.UTF_8).trim();
    } catch (IOException e) {
      return "?";
    }
  }

  private static String osName() {
    for (String line : read(Path.of("/etc/os-release")).split("\n")) {
      if (line.startsWith("PRETTY_NAME=")) {
        return line.substring("PRETTY_NAME=".length()).replace("\"", "");
      }
    }
    return System.getProperty("os.name");
  }

  private static String firstMatch(Path file, String key) {
    for (String line : read(file).split("\n")) {
      if (line.startsWith(key)) {
        return line.substring(line.indexOf(':') + 1).trim();
      }
    }
    return "?";
  }
}
