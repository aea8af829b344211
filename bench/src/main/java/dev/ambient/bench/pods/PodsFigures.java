package dev.ambient.bench.pods;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.OptionalDouble;
import java.util.OptionalLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** The pure parts of {@link PodsBench}: parsing what the lab and its processes write, statistics, goals. */
final class PodsFigures {
  /** Goal: CNI ADD p99 under this (issue "In-pod capture" §6). */
  static final double ADD_P99_GOAL_MS = 300;
  /** Goal: ztunnel RSS per idle enrolled pod under this. */
  static final double KIB_PER_POD_GOAL = 200;

  private static final Pattern ZDS = Pattern.compile(
      "pod (\\S+) \\(uid [^)]*\\) captured: .*; rules ([0-9.]+) ms, ZDS add to ack ([0-9.]+) ms");
  private static final Pattern USED = Pattern.compile("used (\\d+)([KMG])");
  private static final Pattern VMRSS = Pattern.compile("(?m)^VmRSS:\\s+(\\d+) kB");

  private PodsFigures() {}

  /** One line of the lab's {@code AMBIENT_LAB_CNI_TIMINGS} file. */
  record CniTiming(String command, String pod, double millis, int exit) {}

  /** One "captured" line of the node agent's log. */
  record AgentTiming(String pod, double rulesMillis, double zdsAckMillis) {}

  /** {@code COMMAND NS/NAME MICROS EXIT} lines; malformed lines are an error naming the line. */
  static List<CniTiming> cniTimings(String text) {
    List<CniTiming> out = new ArrayList<>();
    for (String line : text.split("\n")) {
      if (line.isBlank()) {
        continue;
      }
      String[] f = line.strip().split(" ");
      try {
        if (f.length != 4) {
          throw new NumberFormatException("4 fields expected");
        }
        out.add(new CniTiming(f[0], f[1], Long.parseLong(f[2]) / 1000.0, Integer.parseInt(f[3])));
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("bad CNI timing line '" + line + "': " + e.getMessage(), e);
      }
    }
    return out;
  }

  /** The agent's "captured" lines with their timings, in log order; other lines are skipped. */
  static List<AgentTiming> agentTimings(String log) {
    List<AgentTiming> out = new ArrayList<>();
    for (String line : log.split("\n")) {
      Matcher m = ZDS.matcher(line);
      if (m.find()) {
        out.add(new AgentTiming(m.group(1), Double.parseDouble(m.group(2)), Double.parseDouble(m.group(3))));
      }
    }
    return out;
  }

  /** VmRSS in KiB from /proc/PID/status text. */
  static OptionalLong vmRssKib(String status) {
    Matcher m = VMRSS.matcher(status);
    return m.find() ? OptionalLong.of(Long.parseLong(m.group(1))) : OptionalLong.empty();
  }

  /**
   * Used heap in KiB from {@code jcmd PID GC.heap_info}: the G1 or ZGC total line, else (Serial,
   * Parallel) the sum of the generation lines; empty when the text has none.
   */
  static OptionalLong heapUsedKib(String heapInfo) {
    long sum = 0;
    boolean found = false;
    for (String line : heapInfo.split("\n")) {
      String t = line.strip();
      boolean total = t.startsWith("garbage-first heap") || t.startsWith("ZHeap") || t.startsWith("Shenandoah");
      // Serial GC: "def new generation" / "tenured generation" before JDK 25, "DefNew" / "Tenured" since.
      boolean generation = t.contains("generation") || t.startsWith("DefNew ") || t.startsWith("Tenured ")
          || t.startsWith("PSYoungGen") || t.startsWith("ParOldGen");
      if (!total && !generation) {
        continue;
      }
      Matcher m = USED.matcher(t);
      if (!m.find()) {
        continue;
      }
      long v = Long.parseLong(m.group(1)) * switch (m.group(2)) {
        case "M" -> 1024L;
        case "G" -> 1024L * 1024;
        default -> 1L;
      };
      if (total) {
        return OptionalLong.of(v);
      }
      sum += v;
      found = true;
    }
    return found ? OptionalLong.of(sum) : OptionalLong.empty();
  }

  /** The pid of {@code what} on {@code node} in the lab's processes.txt ({@code node\twhat\tpid N\tlog}). */
  static OptionalLong pid(String processesTxt, String node, String what) {
    for (String line : processesTxt.split("\n")) {
      String[] f = line.split("\t");
      if (f.length >= 3 && f[0].equals(node) && f[1].equals(what) && f[2].startsWith("pid ")) {
        return OptionalLong.of(Long.parseLong(f[2].substring(4).strip()));
      }
    }
    return OptionalLong.empty();
  }

  /** Nearest-rank percentile (p in (0, 100]); empty for no samples. p99 of 50 samples is the maximum. */
  static OptionalDouble percentile(List<Double> samples, double p) {
    if (samples.isEmpty()) {
      return OptionalDouble.empty();
    }
    List<Double> s = new ArrayList<>(samples);
    Collections.sort(s);
    int rank = (int) Math.ceil(p / 100.0 * s.size());
    return OptionalDouble.of(s.get(Math.max(1, Math.min(rank, s.size())) - 1));
  }

  /** The median (mean of the middle two for an even count). */
  static OptionalDouble median(List<Double> samples) {
    if (samples.isEmpty()) {
      return OptionalDouble.empty();
    }
    List<Double> s = new ArrayList<>(samples);
    Collections.sort(s);
    int n = s.size();
    return OptionalDouble.of(n % 2 == 1 ? s.get(n / 2) : (s.get(n / 2 - 1) + s.get(n / 2)) / 2);
  }

  /** KiB per pod between two RSS readings. */
  static double kibPerPod(long rssBeforeKib, long rssAfterKib, int pods) {
    if (pods <= 0) {
      throw new IllegalArgumentException("pods must be positive, got " + pods);
    }
    return (rssAfterKib - rssBeforeKib) / (double) pods;
  }

  static String verdict(boolean pass) {
    return pass ? "PASS" : "FAIL";
  }

  static String ms(double v) {
    return String.format(Locale.ROOT, "%.1f ms", v);
  }
}
