package dev.ambient.cni.json;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * Reads and writes JSON as plain Java values: {@code Map<String, Object>} (insertion-ordered),
 * {@code List<Object>}, {@link String}, {@link JsonNumber}, {@link Boolean} and {@link #NULL}.
 * Object key order is kept, so a document read and written back differs only in white space.
 */
public final class Json {
  /** The JSON {@code null} (maps and lists cannot hold Java null under our null discipline). */
  public static final Object NULL = new Object() {
    @Override
    public String toString() {
      return "null";
    }
  };

  private static final int MAX_DEPTH = 128;

  private final String in;
  private int pos;
  private int depth;

  private Json(String in) {
    this.in = in;
  }

  /** Parses one JSON value; trailing non-space characters are an error. */
  public static Object parse(String text) {
    Json p = new Json(text);
    p.skipSpace();
    Object v = p.value();
    p.skipSpace();
    if (p.pos != text.length()) {
      throw p.error("unexpected trailing content");
    }
    return v;
  }

  /** Parses a JSON object; any other top-level value is an error. */
  public static Map<String, Object> parseObject(String text) {
    Object v = parse(text);
    if (!(v instanceof Map<?, ?>)) {
      throw new JsonException("expected a JSON object at the top level");
    }
    return asObject(v);
  }

  @SuppressWarnings("unchecked")
  public static Map<String, Object> asObject(Object v) {
    return (Map<String, Object>) v;
  }

  @SuppressWarnings("unchecked")
  public static List<Object> asList(Object v) {
    return (List<Object>) v;
  }

  /** The object member {@code key} when it is an object, else null. */
  public static @Nullable Map<String, Object> object(Map<String, Object> m, String key) {
    return m.get(key) instanceof Map<?, ?> o ? asObject(o) : null;
  }

  /** The object member {@code key} when it is a string, else null. */
  public static @Nullable String string(Map<String, Object> m, String key) {
    return m.get(key) instanceof String s ? s : null;
  }

  /** The object member {@code key} when it is a boolean, else {@code fallback}. */
  public static boolean bool(Map<String, Object> m, String key, boolean fallback) {
    return m.get(key) instanceof Boolean b ? b : fallback;
  }

  /** The object member {@code key} when it is an array, else an empty list. */
  public static List<Object> list(Map<String, Object> m, String key) {
    return m.get(key) instanceof List<?> l ? asList(l) : List.of();
  }

  /** Compact JSON. */
  public static String write(Object value) {
    StringBuilder sb = new StringBuilder();
    write(sb, value, -1, 0);
    return sb.toString();
  }

  /** JSON indented by two spaces, ending in a newline (for files people read). */
  public static String writePretty(Object value) {
    StringBuilder sb = new StringBuilder();
    write(sb, value, 2, 0);
    return sb.append('\n').toString();
  }

  private static void write(StringBuilder sb, @Nullable Object v, int indent, int level) {
    switch (v) {
      case null -> sb.append("null");
      case String s -> quote(sb, s);
      case JsonNumber n -> sb.append(n.text());
      case Boolean b -> sb.append(b);
      case Integer i -> sb.append(i);
      case Long l -> sb.append(l);
      case Map<?, ?> m -> {
        if (m.isEmpty()) {
          sb.append("{}");
          return;
        }
        sb.append('{');
        boolean first = true;
        for (Map.Entry<?, ?> e : m.entrySet()) {
          if (!first) {
            sb.append(',');
          }
          first = false;
          newline(sb, indent, level + 1);
          quote(sb, (String) e.getKey());
          sb.append(indent >= 0 ? ": " : ":");
          write(sb, e.getValue(), indent, level + 1);
        }
        newline(sb, indent, level);
        sb.append('}');
      }
      case List<?> l -> {
        if (l.isEmpty()) {
          sb.append("[]");
          return;
        }
        sb.append('[');
        for (int i = 0; i < l.size(); i++) {
          if (i > 0) {
            sb.append(',');
          }
          newline(sb, indent, level + 1);
          write(sb, l.get(i), indent, level + 1);
        }
        newline(sb, indent, level);
        sb.append(']');
      }
      default -> {
        if (v == NULL) {
          sb.append("null");
        } else {
          throw new JsonException("cannot write a " + v.getClass().getName() + " as JSON");
        }
      }
    }
  }

  private static void newline(StringBuilder sb, int indent, int level) {
    if (indent >= 0) {
      sb.append('\n').repeat(' ', indent * level);
    }
  }

  private static void quote(StringBuilder sb, String s) {
    sb.append('"');
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '"' -> sb.append("\\\"");
        case '\\' -> sb.append("\\\\");
        case '\n' -> sb.append("\\n");
        case '\r' -> sb.append("\\r");
        case '\t' -> sb.append("\\t");
        case '\b' -> sb.append("\\b");
        case '\f' -> sb.append("\\f");
        default -> {
          if (c < 0x20) {
            sb.append(String.format("\\u%04x", (int) c));
          } else {
            sb.append(c);
          }
        }
      }
    }
    sb.append('"');
  }

  private Object value() {
    if (pos >= in.length()) {
      throw error("unexpected end of input");
    }
    char c = in.charAt(pos);
    return switch (c) {
      case '{' -> object();
      case '[' -> array();
      case '"' -> string();
      case 't' -> literal("true", Boolean.TRUE);
      case 'f' -> literal("false", Boolean.FALSE);
      case 'n' -> literal("null", NULL);
      default -> {
        if (c == '-' || (c >= '0' && c <= '9')) {
          yield number();
        }
        throw error("unexpected character '" + c + "'");
      }
    };
  }

  private Map<String, Object> object() {
    enter();
    pos++; // {
    Map<String, Object> m = new LinkedHashMap<>();
    skipSpace();
    if (peek() == '}') {
      pos++;
      depth--;
      return m;
    }
    while (true) {
      skipSpace();
      if (peek() != '"') {
        throw error("expected a string key");
      }
      String key = string();
      skipSpace();
      expect(':');
      skipSpace();
      m.put(key, value());
      skipSpace();
      char c = next();
      if (c == '}') {
        depth--;
        return m;
      }
      if (c != ',') {
        pos--;
        throw error("expected ',' or '}'");
      }
    }
  }

  private List<Object> array() {
    enter();
    pos++; // [
    List<Object> l = new ArrayList<>();
    skipSpace();
    if (peek() == ']') {
      pos++;
      depth--;
      return l;
    }
    while (true) {
      skipSpace();
      l.add(value());
      skipSpace();
      char c = next();
      if (c == ']') {
        depth--;
        return l;
      }
      if (c != ',') {
        pos--;
        throw error("expected ',' or ']'");
      }
    }
  }

  private String string() {
    pos++; // opening quote
    StringBuilder sb = new StringBuilder();
    while (true) {
      char c = next();
      if (c == '"') {
        return sb.toString();
      }
      if (c < 0x20) {
        pos--;
        throw error("control character in string");
      }
      if (c != '\\') {
        sb.append(c);
        continue;
      }
      char e = next();
      switch (e) {
        case '"', '\\', '/' -> sb.append(e);
        case 'n' -> sb.append('\n');
        case 'r' -> sb.append('\r');
        case 't' -> sb.append('\t');
        case 'b' -> sb.append('\b');
        case 'f' -> sb.append('\f');
        case 'u' -> {
          if (pos + 4 > in.length()) {
            throw error("short \\u escape");
          }
          try {
            sb.append((char) Integer.parseInt(in, pos, pos + 4, 16));
          } catch (NumberFormatException ex) {
            throw error("bad \\u escape");
          }
          pos += 4;
        }
        default -> {
          pos--;
          throw error("bad escape '\\" + e + "'");
        }
      }
    }
  }

  private JsonNumber number() {
    int start = pos;
    if (peek() == '-') {
      pos++;
    }
    int intStart = pos;
    digits();
    if (pos == intStart) {
      throw error("expected a digit");
    }
    if (in.charAt(intStart) == '0' && pos - intStart > 1) {
      throw error("leading zero in number");
    }
    if (peek() == '.') {
      pos++;
      int fracStart = pos;
      digits();
      if (pos == fracStart) {
        throw error("expected a digit after '.'");
      }
    }
    if (peek() == 'e' || peek() == 'E') {
      pos++;
      if (peek() == '+' || peek() == '-') {
        pos++;
      }
      int expStart = pos;
      digits();
      if (pos == expStart) {
        throw error("expected a digit in the exponent");
      }
    }
    return new JsonNumber(in.substring(start, pos));
  }

  private void digits() {
    while (pos < in.length() && in.charAt(pos) >= '0' && in.charAt(pos) <= '9') {
      pos++;
    }
  }

  private Object literal(String word, Object value) {
    if (!in.startsWith(word, pos)) {
      throw error("unexpected token");
    }
    pos += word.length();
    return value;
  }

  private void enter() {
    if (++depth > MAX_DEPTH) {
      throw error("nested deeper than " + MAX_DEPTH);
    }
  }

  private void expect(char c) {
    if (next() != c) {
      pos--;
      throw error("expected '" + c + "'");
    }
  }

  private char peek() {
    return pos < in.length() ? in.charAt(pos) : '\0';
  }

  private char next() {
    if (pos >= in.length()) {
      throw error("unexpected end of input");
    }
    return in.charAt(pos++);
  }

  private void skipSpace() {
    while (pos < in.length()) {
      char c = in.charAt(pos);
      if (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
        return;
      }
      pos++;
    }
  }

  private JsonException error(String what) {
    return new JsonException("invalid JSON at offset " + pos + ": " + what);
  }
}
