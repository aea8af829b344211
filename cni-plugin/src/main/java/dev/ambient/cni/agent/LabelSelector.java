package dev.ambient.cni.agent;

import dev.ambient.cni.json.Json;
import dev.ambient.cni.json.JsonException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A Kubernetes LabelSelector ({@code matchLabels} and {@code matchExpressions}); every part must
 * match, and the empty selector matches everything.
 */
public record LabelSelector(Map<String, String> matchLabels, List<Requirement> matchExpressions) {
  public static final LabelSelector EVERYTHING = new LabelSelector(Map.of(), List.of());

  public LabelSelector {
    matchLabels = Map.copyOf(matchLabels);
    matchExpressions = List.copyOf(matchExpressions);
  }

  /** One {@code matchExpressions} entry. */
  public record Requirement(String key, Operator operator, Set<String> values) {
    public Requirement {
      values = Set.copyOf(values);
      if ((operator == Operator.IN || operator == Operator.NOT_IN) && values.isEmpty()) {
        throw new IllegalArgumentException("operator " + operator.text + " on '" + key + "' needs values");
      }
    }

    boolean matches(Map<String, String> labels) {
      String v = labels.get(key);
      return switch (operator) {
        case IN -> v != null && values.contains(v);
        case NOT_IN -> v == null || !values.contains(v);
        case EXISTS -> v != null;
        case DOES_NOT_EXIST -> v == null;
      };
    }
  }

  /** The four LabelSelector operators, with their Kubernetes spelling. */
  public enum Operator {
    IN("In"), NOT_IN("NotIn"), EXISTS("Exists"), DOES_NOT_EXIST("DoesNotExist");

    final String text;

    Operator(String text) {
      this.text = text;
    }

    static Operator parse(String text) {
      for (Operator o : values()) {
        if (o.text.equals(text)) {
          return o;
        }
      }
      throw new JsonException("unknown label selector operator '" + text + "'");
    }
  }

  public boolean isEmpty() {
    return matchLabels.isEmpty() && matchExpressions.isEmpty();
  }

  public boolean matches(Map<String, String> labels) {
    for (Map.Entry<String, String> e : matchLabels.entrySet()) {
      if (!e.getValue().equals(labels.get(e.getKey()))) {
        return false;
      }
    }
    for (Requirement r : matchExpressions) {
      if (!r.matches(labels)) {
        return false;
      }
    }
    return true;
  }

  /** Reads the Kubernetes JSON form; a missing or null selector is {@link #EVERYTHING}. */
  public static LabelSelector fromJson(Object json) {
    if (!(json instanceof Map<?, ?>)) {
      return EVERYTHING;
    }
    Map<String, Object> m = Json.asObject(json);
    Map<String, String> labels = new LinkedHashMap<>();
    Map<String, Object> ml = Json.object(m, "matchLabels");
    if (ml != null) {
      ml.forEach((k, v) -> {
        if (!(v instanceof String s)) {
          throw new JsonException("matchLabels." + k + " must be a string");
        }
        labels.put(k, s);
      });
    }
    List<Requirement> reqs = new ArrayList<>();
    for (Object o : Json.list(m, "matchExpressions")) {
      if (!(o instanceof Map<?, ?>)) {
        throw new JsonException("matchExpressions entries must be objects");
      }
      Map<String, Object> e = Json.asObject(o);
      String key = Json.string(e, "key");
      String op = Json.string(e, "operator");
      if (key == null || op == null) {
        throw new JsonException("matchExpressions entries need 'key' and 'operator'");
      }
      List<String> values = new ArrayList<>();
      for (Object v : Json.list(e, "values")) {
        values.add(String.valueOf(v));
      }
      try {
        reqs.add(new Requirement(key, Operator.parse(op), Set.copyOf(values)));
      } catch (IllegalArgumentException ex) {
        throw new JsonException(ex.getMessage());
      }
    }
    return new LabelSelector(labels, reqs);
  }

  /** The Kubernetes JSON form. */
  public Map<String, Object> toJson() {
    Map<String, Object> m = new LinkedHashMap<>();
    if (!matchLabels.isEmpty()) {
      m.put("matchLabels", new LinkedHashMap<String, Object>(matchLabels));
    }
    if (!matchExpressions.isEmpty()) {
      List<Object> l = new ArrayList<>();
      for (Requirement r : matchExpressions) {
        Map<String, Object> e = new LinkedHashMap<>();
        e.put("key", r.key());
        e.put("operator", r.operator().text);
        if (!r.values().isEmpty()) {
          e.put("values", new ArrayList<Object>(r.values().stream().sorted().toList()));
        }
        l.add(e);
      }
      m.put("matchExpressions", l);
    }
    return m;
  }
}
