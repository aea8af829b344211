package dev.ambient.xds.ca;

import static java.util.Objects.requireNonNull;

import java.time.Duration;

/**
 * Exponential backoff with jitter: attempt {@code n} (1-based) waits
 * {@code min(max, initial × multiplier^(n-1))}, scaled by a uniform factor in
 * {@code [1 − jitter, 1 + jitter]}, and never more than {@code max}.
 *
 * @param initial the first delay
 * @param multiplier growth per failure, at least 1
 * @param jitter relative spread, in {@code [0, 1)}
 * @param max the cap, applied before and after the jitter
 */
public record Backoff(Duration initial, double multiplier, double jitter, Duration max) {
  /** ztunnel's CSR retry policy (spec §8.5): ~1 s, ×2, ±20 %, at most 150 s. */
  public static final Backoff CSR_DEFAULT = new Backoff(Duration.ofSeconds(1), 2.0, 0.2, Duration.ofSeconds(150));

  public Backoff {
    requireNonNull(initial, "initial");
    requireNonNull(max, "max");
    if (initial.isNegative() || initial.isZero() || max.compareTo(initial) < 0) {
      throw new IllegalArgumentException("need 0 < initial (" + initial + ") <= max (" + max + ")");
    }
    if (!(multiplier >= 1.0) || !(jitter >= 0.0 && jitter < 1.0)) {
      throw new IllegalArgumentException("need multiplier >= 1 and 0 <= jitter < 1, got " + multiplier + ", " + jitter);
    }
  }

  /**
   * The delay before retry number {@code attempt}.
   *
   * @param attempt 1 for the first retry
   * @param random01 a uniform sample in {@code [0, 1)}; 0.5 means no jitter
   */
  public Duration delay(int attempt, double random01) {
    if (attempt < 1) {
      throw new IllegalArgumentException("attempt must be >= 1, was " + attempt);
    }
    double base = initial.toNanos() * Math.pow(multiplier, Math.min(attempt - 1, 64));
    base = Math.min(base, max.toNanos());
    double jittered = base * (1.0 + jitter * (2.0 * random01 - 1.0));
    return Duration.ofNanos((long) Math.min(jittered, max.toNanos()));
  }
}
