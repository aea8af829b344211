package dev.ambient.cni.agent;

import dev.ambient.cni.json.Json;
import dev.ambient.cni.json.JsonException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * One entry of istio-cni's {@code enablement_selectors}: matches when the pod selector matches the
 * pod's labels and the namespace selector matches its namespace's labels.
 */
public record EnablementSelector(LabelSelector podSelector, LabelSelector namespaceSelector) {

  /**
   * The chart's defaults (spec §1.7): pod label {@code istio.io/dataplane-mode=ambient}, or
   * namespace label {@code istio.io/dataplane-mode=ambient} with the pod label not {@code none}.
   */
  public static final List<EnablementSelector> DEFAULTS = List.of(
      new EnablementSelector(
          new LabelSelector(Map.of(Enrollment.DATAPLANE_MODE, Enrollment.AMBIENT), List.of()),
          LabelSelector.EVERYTHING),
      new EnablementSelector(
          new LabelSelector(Map.of(), List.of(new LabelSelector.Requirement(
              Enrollment.DATAPLANE_MODE, LabelSelector.Operator.NOT_IN, Set.of(Enrollment.NONE)))),
          new LabelSelector(Map.of(Enrollment.DATAPLANE_MODE, Enrollment.AMBIENT), List.of())));

  public boolean matches(Map<String, String> podLabels, Map<String, String> namespaceLabels) {
    return podSelector.matches(podLabels) && namespaceSelector.matches(namespaceLabels);
  }

  /** Reads the JSON array form of the plugin config ({@code [{"podSelector":…,"namespaceSelector":…}]}). */
  public static List<EnablementSelector> fromJson(List<Object> json) {
    List<EnablementSelector> out = new ArrayList<>();
    for (Object o : json) {
      if (!(o instanceof Map<?, ?>)) {
        throw new JsonException("enablement_selectors entries must be objects");
      }
      Map<String, Object> m = Json.asObject(o);
      out.add(new EnablementSelector(
          LabelSelector.fromJson(m.getOrDefault("podSelector", Json.NULL)),
          LabelSelector.fromJson(m.getOrDefault("namespaceSelector", Json.NULL))));
    }
    return List.copyOf(out);
  }

  public static List<Object> toJson(List<EnablementSelector> selectors) {
    List<Object> l = new ArrayList<>();
    for (EnablementSelector s : selectors) {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("podSelector", s.podSelector.toJson());
      m.put("namespaceSelector", s.namespaceSelector.toJson());
      l.add(m);
    }
    return l;
  }
}
