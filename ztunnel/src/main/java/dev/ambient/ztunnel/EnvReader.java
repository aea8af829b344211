package dev.ambient.ztunnel;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.net.InetAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * Reads typed values out of an environment map, collecting every problem instead of stopping at
 * the first. A rejected value yields the default so parsing can continue; {@link #throwIfAny()}
 * then fails.
 */
final class EnvReader {
  static final String UNSET = "<unset>";
  private static final Pattern DURATION_PART = Pattern.compile("(\\d+)(ns|us|µs|ms|s|m|h|d)");
  private static final Pattern CPU_QUANTITY = Pattern.compile("(\\d+(?:\\.\\d+)?|\\.\\d+)(m?)");

  private final Map<String, String> env;
  private final List<ZtunnelConfigException.Problem> problems;

  EnvReader(Map<String, String> env) {
    this(env, new ArrayList<>());
  }

  private EnvReader(Map<String, String> env, List<ZtunnelConfigException.Problem> problems) {
    this.env = env;
    this.problems = problems;
  }

  /** A reader that also sees {@code fallbacks} where the environment has no value; problems are shared. */
  EnvReader withFallbacks(Map<String, String> fallbacks) {
    Map<String, String> merged = new java.util.TreeMap<>(env);
    fallbacks.forEach(merged::putIfAbsent);
    return new EnvReader(merged, problems);
  }

  Map<String, String> env() {
    return env;
  }

  @Nullable String raw(String name) {
    return env.get(name);
  }

  boolean isSet(String name) {
    return env.containsKey(name);
  }

  String string(String name, String dflt) {
    return env.getOrDefault(name, dflt);
  }

  /** Unset and empty are both "not configured". */
  Optional<String> optional(String name) {
    String v = env.get(name);
    return v == null || v.isEmpty() ? Optional.empty() : Optional.of(v);
  }

  void problem(String variable, @Nullable String value, String reason) {
    problems.add(new ZtunnelConfigException.Problem(variable, value == null ? UNSET : value, reason));
  }

  void throwIfAny() {
    if (!problems.isEmpty()) {
      throw new ZtunnelConfigException(problems);
    }
  }

  /** Exactly {@code true} or {@code false}, as ztunnel's parser accepts. */
  boolean bool(String name, boolean dflt) {
    String v = env.get(name);
    if (v == null) {
      return dflt;
    }
    return switch (v) {
      case "true" -> true;
      case "false" -> false;
      default -> {
        problem(name, v, "must be exactly true or false");
        yield dflt;
      }
    };
  }

  /** A decimal integer within {@code [min, max]}. */
  long integer(String name, long dflt, long min, long max) {
    String v = env.get(name);
    if (v == null) {
      return dflt;
    }
    long n;
    try {
      n = Long.parseLong(v);
    } catch (NumberFormatException e) {
      problem(name, v, "not an integer");
      return dflt;
    }
    if (n < min || n > max) {
      problem(name, v, "must be within " + min + ".." + max);
      return dflt;
    }
    return n;
  }

  /** A duration such as {@code 5s}, {@code 100ms}, {@code 1m}, {@code 24h} or {@code 1m30s}, at least {@code min}. */
  Duration duration(String name, Duration dflt, Duration min) {
    String v = env.get(name);
    if (v == null) {
      return dflt;
    }
    Optional<Duration> d = parseDuration(v);
    if (d.isEmpty()) {
      problem(name, v, "not a duration (use forms like 5s, 100ms, 1m, 24h)");
      return dflt;
    }
    if (d.get().compareTo(min) < 0) {
      problem(name, v, "must be at least " + min);
      return dflt;
    }
    return d.get();
  }

  /** One or more {@code <digits><unit>} parts; units ns, us, ms, s, m, h, d. No sign, no bare numbers. */
  static Optional<Duration> parseDuration(String v) {
    if (v.isEmpty()) {
      return Optional.empty();
    }
    Matcher m = DURATION_PART.matcher(v);
    Duration total = Duration.ZERO;
    int at = 0;
    try {
      while (at < v.length()) {
        if (!m.find(at) || m.start() != at) {
          return Optional.empty();
        }
        long n = Long.parseLong(m.group(1));
        Duration part = switch (m.group(2)) {
          case "ns" -> Duration.ofNanos(n);
          case "us", "µs" -> Duration.ofNanos(Math.multiplyExact(n, 1_000L));
          case "ms" -> Duration.ofMillis(n);
          case "s" -> Duration.ofSeconds(n);
          case "m" -> Duration.ofMinutes(n);
          case "h" -> Duration.ofHours(n);
          case "d" -> Duration.ofDays(n);
          default -> throw new IllegalStateException(m.group(2));
        };
        total = total.plus(part);
        at = m.end();
      }
    } catch (ArithmeticException | NumberFormatException e) {
      return Optional.empty();
    }
    return Optional.of(total);
  }

  /** A Kubernetes CPU quantity ({@code 2}, {@code 1.5}, {@code 500m}) rounded up to whole cores, at least 1. */
  static Optional<Integer> parseCpuQuantity(String v) {
    Matcher m = CPU_QUANTITY.matcher(v);
    if (!m.matches()) {
      return Optional.empty();
    }
    BigDecimal cores = new BigDecimal(m.group(1));
    if (!m.group(2).isEmpty()) {
      cores = cores.movePointLeft(3);
    }
    BigDecimal up = cores.setScale(0, RoundingMode.CEILING);
    if (up.compareTo(BigDecimal.valueOf(Integer.MAX_VALUE)) > 0) {
      return Optional.empty();
    }
    return Optional.of(Math.max(1, up.intValue()));
  }

  /** An IPv4 or IPv6 literal, never a host name (no DNS lookups here). */
  static boolean isIpLiteral(String v) {
    try {
      InetAddress.ofLiteral(v);
      return true;
    } catch (IllegalArgumentException e) {
      return false;
    }
  }
}
