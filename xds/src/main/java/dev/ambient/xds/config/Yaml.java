package dev.ambient.xds.config;

import com.fasterxml.jackson.annotation.JsonSetter;
import com.fasterxml.jackson.annotation.Nulls;
import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import java.util.ArrayList;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * The one YAML mapper of this package, and the split of a file into documents.
 *
 * <p>Documents are split on {@code ---} lines here instead of with Jackson's multi-document reader, so each one
 * can be bound on its own while Jackson still reports positions in the whole file: a document is handed to
 * Jackson with every line before it blanked out.
 */
final class Yaml {
  static final ObjectMapper MAPPER = YAMLMapper.builder()
      .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
      .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
      .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
      .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
      // "[~]" or "{a: ~}" inside a list or map is a mistake, not an element: report it where it is.
      .defaultSetterInfo(JsonSetter.Value.forContentNulls(Nulls.FAIL))
      .build();

  private Yaml() {}

  /** One document of a file: its text with earlier lines blanked, and its first line with content (1-based). */
  record Document(String text, int firstLine) {
    static Document of(String text, int startLine) {
      String[] lines = text.split("\n", -1);
      for (int i = startLine - 1; i < lines.length; i++) {
        String t = lines[i].strip();
        if (!t.isEmpty() && !t.startsWith("#")) {
          return new Document(text, i + 1);
        }
      }
      return new Document(text, startLine);
    }

    /** The document as a tree, or null when it is empty (only comments or whitespace). */
    @Nullable JsonNode tree() {
      try {
        JsonNode node = MAPPER.readTree(text);
        return node == null || node.isMissingNode() || node.isNull() ? null : node;
      } catch (JacksonException e) {
        throw ConfigException.from(e, text);
      }
    }

    <T> T bind(Class<T> type) {
      try {
        return MAPPER.readValue(text, type);
      } catch (JacksonException e) {
        throw ConfigException.from(e, text);
      }
    }
  }

  /** Where the value (or, for a field, the key) at {@code path} starts in {@code text}, or null. */
  static @Nullable JsonLocation locate(String text, List<JsonMappingException.Reference> path) {
    try (JsonParser p = MAPPER.createParser(text)) {
      return walk(p, p.nextToken(), path, 0);
    } catch (JacksonException | RuntimeException e) {
      return null; // best effort: the caller falls back to Jackson's location
    } catch (java.io.IOException e) {
      return null;
    }
  }

  private static @Nullable JsonLocation walk(JsonParser p, @Nullable JsonToken t,
      List<JsonMappingException.Reference> path, int depth) throws java.io.IOException {
    if (t == null) {
      return null;
    }
    if (depth == path.size()) {
      return p.currentTokenLocation();
    }
    JsonMappingException.Reference r = path.get(depth);
    if (t == JsonToken.START_OBJECT && r.getFieldName() != null) {
      while (p.nextToken() == JsonToken.FIELD_NAME) {
        String name = p.currentName();
        JsonLocation nameLocation = p.currentTokenLocation();
        JsonToken value = p.nextToken();
        if (r.getFieldName().equals(name)) {
          return depth + 1 == path.size() ? nameLocation : walk(p, value, path, depth + 1);
        }
        p.skipChildren();
      }
    } else if (t == JsonToken.START_ARRAY && r.getIndex() >= 0) {
      int i = 0;
      for (JsonToken e = p.nextToken(); e != null && e != JsonToken.END_ARRAY; e = p.nextToken(), i++) {
        if (i == r.getIndex()) {
          return walk(p, e, path, depth + 1);
        }
        p.skipChildren();
      }
    }
    return null;
  }

  static List<Document> split(String file) {
    List<Document> docs = new ArrayList<>();
    String[] lines = file.split("\r?\n", -1);
    StringBuilder current = new StringBuilder();
    int first = 1;
    for (int i = 0; i < lines.length; i++) {
      String line = lines[i];
      if (isSeparator(line)) {
        docs.add(Document.of(current.toString(), first));
        current.setLength(0);
        // Keep anything after the marker (e.g. "--- {a: 1}") in place, so columns stay right.
        current.append("\n".repeat(i)).append("   ").append(line.substring(3)).append('\n');
        first = i + 1;
      } else {
        current.append(line).append('\n');
      }
    }
    docs.add(Document.of(current.toString(), first));
    return docs;
  }

  private static boolean isSeparator(String line) {
    return line.startsWith("---") && (line.length() == 3 || line.charAt(3) == ' ' || line.charAt(3) == '\t');
  }
}
