package dev.ambient.bench.l4;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** The receiver-side result of one {@code iperf3 -J} client run. */
record IperfResult(double gbps, long bytes, double seconds) {
  private static final Pattern SUM_RECEIVED = Pattern.compile("\"sum_received\"\\s*:\\s*\\{([^}]*)}");
  private static final Pattern ERROR = Pattern.compile("\"error\"\\s*:\\s*\"([^\"]*)\"");

  /**
   * Parses iperf3's JSON ({@code -J}) output: {@code end.sum_received}.
   *
   * @throws IllegalArgumentException with iperf3's own error text when the run failed
   */
  static IperfResult parse(String json) {
    Matcher err = ERROR.matcher(json);
    if (err.find()) {
      throw new IllegalArgumentException("iperf3: " + err.group(1));
    }
    Matcher m = SUM_RECEIVED.matcher(json);
    if (!m.find()) {
      throw new IllegalArgumentException("no end.sum_received in iperf3 output: " + HeyResult.abbreviate(json));
    }
    String body = m.group(1);
    return new IperfResult(number(body, "bits_per_second") / 1e9, (long) number(body, "bytes"),
        number(body, "seconds"));
  }

  private static double number(String body, String key) {
    Matcher m = Pattern.compile("\"" + key + "\"\\s*:\\s*([-0-9.eE+]+)").matcher(body);
    if (!m.find()) {
      throw new IllegalArgumentException("no " + key + " in iperf3 sum_received: " + body.strip());
    }
    return Double.parseDouble(m.group(1));
  }
}
