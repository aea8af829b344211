package dev.ambient.bench.l4;

import dev.ambient.bench.JsonStrings;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/** A minimal JSON writer for the results file: maps, lists, strings, numbers (NaN as null), booleans. */
final class Json {
  private Json() {}

  static String write(@Nullable Object value) {
    StringBuilder b = new StringBuilder();
    write(b, value, "");
    return b.append('\n').toString();
  }

  private static void write(StringBuilder b, @Nullable Object v, String indent) {
    switch (v) {
      case null -> b.append("null");
      case Map<?, ?> m -> {
        if (m.isEmpty()) {
          b.append("{}");
          return;
        }
        b.append("{");
        String in = indent + "  ";
        boolean first = true;
        for (var e : m.entrySet()) {
          b.append(first ? "\n" : ",\n").append(in);
          string(b, String.valueOf(e.getKey()));
          b.append(": ");
          write(b, e.getValue(), in);
          first = false;
        }
        b.append("\n").append(indent).append("}");
      }
      case List<?> l -> {
        b.append("[");
        for (int i = 0; i < l.size(); i++) {
          b.append(i == 0 ? "" : ", ");
          write(b, l.get(i), indent);
        }
        b.append("]");
      }
      case Double d -> b.append(d.isNaN() || d.isInfinite() ? "null" : String.format(Locale.ROOT, "%.4f", d));
      case Float f -> write(b, f.doubleValue(), indent);
      case Number n -> b.append(n);
      case Boolean x -> b.append(x);
      default -> string(b, v.toString());
    }
  }

  private static void string(StringBuilder b, String s) {
    JsonStrings.appendQuoted(b, s);
  }
}
