package dev.ambient.bench.l4;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The summary that {@code hey} prints: request rate, latency percentiles (seconds, printed with
 * 0.1 ms resolution), the count of 200 responses and of errors.
 */
record HeyResult(double requestsPerSecond, Map<Integer, Double> percentiles, long ok, long errors) {
  private static final Pattern RPS = Pattern.compile("Requests/sec:\\s+([0-9.]+)");
  private static final Pattern PERCENTILE = Pattern.compile("^\\s*(\\d+)%+ in ([0-9.]+) secs", Pattern.MULTILINE);
  private static final Pattern STATUS = Pattern.compile("^\\s*\\[(\\d{3})]\\s+(\\d+) responses", Pattern.MULTILINE);
  private static final Pattern ERROR = Pattern.compile("^\\s*\\[(\\d+)]\\s+(?!\\d+ responses)", Pattern.MULTILINE);

  /** Percentile in milliseconds, e.g. {@code millis(99)}; NaN when hey did not print it. */
  double millis(int percentile) {
    Double s = percentiles.get(percentile);
    return s == null ? Double.NaN : s * 1000;
  }

  /**
   * Parses hey's default text output.
   *
   * @throws IllegalArgumentException when it has no request rate or no latency distribution (hey
   *     prints none when every request failed)
   */
  static HeyResult parse(String out) {
    Matcher m = RPS.matcher(out);
    if (!m.find()) {
      throw new IllegalArgumentException("no 'Requests/sec' in hey output: " + abbreviate(out));
    }
    double rps = Double.parseDouble(m.group(1));
    Map<Integer, Double> p = new LinkedHashMap<>();
    Matcher pm = PERCENTILE.matcher(out);
    while (pm.find()) {
      p.put(Integer.parseInt(pm.group(1)), Double.parseDouble(pm.group(2)));
    }
    if (p.isEmpty()) {
      throw new IllegalArgumentException("no latency distribution in hey output: " + abbreviate(out));
    }
    long ok = 0;
    Matcher sm = STATUS.matcher(out);
    while (sm.find()) {
      if (sm.group(1).equals("200")) {
        ok += Long.parseLong(sm.group(2));
      }
    }
    long errors = 0;
    int e = out.indexOf("Error distribution:");
    if (e >= 0) {
      Matcher em = ERROR.matcher(out.substring(e));
      while (em.find()) {
        errors += Long.parseLong(em.group(1));
      }
    }
    return new HeyResult(rps, Map.copyOf(p), ok, errors);
  }

  static String abbreviate(String s) {
    String t = s.strip();
    return t.length() <= 400 ? t : t.substring(0, 400) + "...";
  }
}
