package dev.ambient.bench;

import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * Where the time of one change in {@link XdsBench} went, from stamps of one clock ({@link System#nanoTime()}
 * of both JVMs: CLOCK_MONOTONIC on Linux): the control plane's per-reload timing line
 * ({@code ControlPlane.timings}), the client's gRPC message arrivals, and both JVMs' safepoints
 * ({@code -Xlog:safepoint} with the {@code tn} decorator: GC pauses and every other stop of the JVM).
 *
 * <p>Stages of a change written at {@code t0} and seen applied at {@code t1}: write to the watcher's first
 * event ({@code watch}), event to reload start (debounce and queueing, {@code debounce}), {@code load},
 * {@code store}, publish with the encoding and hand-over of the push ({@code publish}), published to the
 * response arriving in the client's gRPC listener (HTTP/2, TLS, protobuf parse: {@code wire}), and arrival to the
 * watcher's update (domain decoding and apply: {@code apply}).
 */
final class ChangeStages {
  private ChangeStages() {}

  /** One control-plane reload (all {@code System.nanoTime()}). */
  record Reload(long event, long start, long loaded, long stored, long published) {}

  /** One stop of a JVM: {@code [start, end]} in nanoTime. */
  record Pause(long start, long end, String what) {
    long nanos() {
      return end - start;
    }
  }

  /** The stages of one change, in ms; NaN when the stamps were not found. */
  record Breakdown(double watch, double debounce, double load, double store, double publish, double wire,
      double apply, int reloads, double cpPausedMs, double clientPausedMs, String pauses) {
    static final Breakdown NONE = new Breakdown(Double.NaN, Double.NaN, Double.NaN, Double.NaN, Double.NaN,
        Double.NaN, Double.NaN, 0, 0, 0, "");

    String describe() {
      return String.format(Locale.ROOT,
          "watch %s, debounce %s, load %s, store %s, publish %s, wire %s, apply %s ms; reloads %d; paused cp %.1f / client %.1f ms%s",
          f(watch), f(debounce), f(load), f(store), f(publish), f(wire), f(apply), reloads, cpPausedMs, clientPausedMs,
          pauses.isEmpty() ? "" : " (" + pauses + ")");
    }

    private static String f(double d) {
      return Double.isNaN(d) ? "?" : String.format(Locale.ROOT, "%.1f", d);
    }
  }

  private static final Pattern RELOAD = Pattern.compile(
      "reload event=(\\d+) start=(\\d+) loaded=(\\d+) stored=(\\d+) published=(\\d+)");
  private static final Pattern SAFEPOINT = Pattern.compile(
      "^\\[(\\d+)ns\\].*Safepoint \"([^\"]*)\".*Total: (\\d+) ns");

  /** The control plane's timing line, or null for any other line. */
  static @Nullable Reload parseReload(String line) {
    Matcher m = RELOAD.matcher(line);
    if (!m.find()) {
      return null;
    }
    return new Reload(Long.parseLong(m.group(1)), Long.parseLong(m.group(2)), Long.parseLong(m.group(3)),
        Long.parseLong(m.group(4)), Long.parseLong(m.group(5)));
  }

  /** A {@code -Xlog:safepoint} line decorated with {@code tn} (its end), or null for any other line. */
  static @Nullable Pause parseSafepoint(String line) {
    Matcher m = SAFEPOINT.matcher(line);
    if (!m.find()) {
      return null;
    }
    long end = Long.parseLong(m.group(1));
    return new Pause(end - Long.parseLong(m.group(3)), end, m.group(2));
  }

  /**
   * The stages of the change written at {@code t0} and applied at {@code t1}. The reload that carried it is the
   * last one that started at or after {@code t0} and had stored its resources before the client received the
   * response (the last arrival at or before {@code t1}). The push is sent from inside the publish, so the
   * response can arrive before the reload's "published" stamp: then publish ends, and wire starts, at the
   * arrival. {@code arrivals} and the lists are in time order.
   */
  static Breakdown of(long t0, long t1, List<Reload> reloads, long[] arrivals, List<Pause> cpPauses,
      List<Pause> clientPauses) {
    long received = Long.MIN_VALUE;
    for (long a : arrivals) {
      if (a <= t1 && a >= t0) {
        received = a;
      }
    }
    Reload carried = null;
    int count = 0;
    for (Reload r : reloads) {
      if (r.start() >= t0 && r.start() <= t1) {
        count++;
        if (received != Long.MIN_VALUE && r.stored() <= received) {
          carried = r;
        }
      }
    }
    StringBuilder what = new StringBuilder();
    double cp = paused(t0, t1, cpPauses, "cp", what);
    double client = paused(t0, t1, clientPauses, "client", what);
    if (carried == null) {
      return new Breakdown(Double.NaN, Double.NaN, Double.NaN, Double.NaN, Double.NaN, Double.NaN,
          received == Long.MIN_VALUE ? Double.NaN : ms(t1 - received), count, cp, client, what.toString());
    }
    long pushed = Math.min(carried.published(), received);
    return new Breakdown(ms(carried.event() - t0), ms(carried.start() - carried.event()),
        ms(carried.loaded() - carried.start()), ms(carried.stored() - carried.loaded()),
        ms(pushed - carried.stored()), ms(received - pushed), ms(t1 - received), count, cp, client, what.toString());
  }

  /** Milliseconds of {@code pauses} inside {@code [t0, t1]}; names the ones over 1 ms into {@code what}. */
  static double paused(long t0, long t1, List<Pause> pauses, String jvm, StringBuilder what) {
    long total = 0;
    for (Pause p : pauses) {
      long overlap = Math.min(p.end(), t1) - Math.max(p.start(), t0);
      if (overlap > 0) {
        total += overlap;
        if (p.nanos() >= 1_000_000) {
          if (!what.isEmpty()) {
            what.append(", ");
          }
          what.append(String.format(Locale.ROOT, "%s %s %.1f ms", jvm, p.what(), p.nanos() / 1e6));
        }
      }
    }
    return ms(total);
  }

  private static double ms(long nanos) {
    return nanos / 1e6;
  }
}
