package dev.ambient.cni.json;

import java.util.Objects;

/**
 * A JSON number kept as its source text, so a value read and written back is unchanged
 * (no {@code 1.0} turning into {@code 1}, no precision lost on large integers).
 */
public record JsonNumber(String text) {
  public JsonNumber {
    Objects.requireNonNull(text, "text");
  }

  public static JsonNumber of(long value) {
    return new JsonNumber(Long.toString(value));
  }

  public long longValue() {
    return new java.math.BigDecimal(text).longValueExact();
  }

  @Override
  public String toString() {
    return text;
  }
}
