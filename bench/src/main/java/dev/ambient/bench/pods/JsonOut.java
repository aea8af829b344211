package dev.ambient.bench.pods;

import dev.ambient.bench.JsonStrings;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/** The results file: maps, lists, strings, numbers (NaN and infinities as null), booleans. */
final class JsonOut {
  private JsonOut() {}

  static String write(@Nullable Object value) {
    StringBuilder b = new StringBuilder();
    write(b, value);
    return b.append('\n').toString();
  }

  private static void write(StringBuilder b, @Nullable Object v) {
    switch (v) {
      case null -> b.append("null");
      case Boolean x -> b.append(x);
      case Double d -> b.append(d.isNaN() || d.isInfinite() ? "null" : String.format(Locale.ROOT, "%.3f", d));
      case Number n -> b.append(n);
      case Map<?, ?> m -> {
        b.append('{');
        boolean first = true;
        for (Map.Entry<?, ?> e : m.entrySet()) {
          b.append(first ? "" : ",");
          first = false;
          string(b, String.valueOf(e.getKey()));
          b.append(':');
          write(b, e.getValue());
        }
        b.append('}');
      }
      case List<?> l -> {
        b.append('[');
        for (int i = 0; i < l.size(); i++) {
          b.append(i == 0 ? "" : ",");
          write(b, l.get(i));
        }
        b.append(']');
      }
      default -> string(b, v.toString());
    }
  }

  private static void string(StringBuilder b, String s) {
    JsonStrings.appendQuoted(b, s);
  }
}
