package dev.ambient.cni.agent;

import dev.ambient.cni.json.Json;
import java.util.LinkedHashMap;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * The agent's status marker {@code ambient.istio.io/redirection} (spec §2.4) and the JSON merge
 * patch that sets or removes it on the {@code pods/status} subresource.
 */
public enum RedirectionAnnotation {
  /** Rules in place, no ztunnel ack yet. */
  PENDING("pending"),
  /** Fully captured; istiod then marks the workload HBONE. */
  ENABLED("enabled");

  public static final String KEY = "ambient.istio.io/redirection";
  /**
   * Our own key (not upstream's): the pod's netns path as the CNI ADD gave it, written with the
   * state so that an agent that restarts, or enrols the pod later from a label change, finds the
   * netns without upstream's /proc cgroup scan. The lab may set it when it creates a pod.
   */
  public static final String NETNS_KEY = "cni.ambient.dev/netns";

  private final String value;

  RedirectionAnnotation(String value) {
    this.value = value;
  }

  public String value() {
    return value;
  }

  /** The state a pod's annotations show, or null when the pod is not enrolled. */
  public static @Nullable RedirectionAnnotation of(Map<String, String> annotations) {
    String v = annotations.get(KEY);
    for (RedirectionAnnotation a : values()) {
      if (a.value.equals(v)) {
        return a;
      }
    }
    return null;
  }

  /** The merge patch setting this value: {@code {"metadata":{"annotations":{KEY:"value"}}}}. */
  public String patch() {
    return patchWith(value);
  }

  /** As {@link #patch()}, also recording the netns path under {@link #NETNS_KEY} when it is not empty. */
  public String patch(String netns) {
    if (netns.isEmpty()) {
      return patch();
    }
    Map<String, Object> annotations = new LinkedHashMap<>();
    annotations.put(KEY, value);
    annotations.put(NETNS_KEY, netns);
    return Json.write(Map.of("metadata", Map.of("annotations", annotations)));
  }

  /** The merge patch removing the annotation (its value set to JSON null). */
  public static String removalPatch() {
    return patchWith(Json.NULL);
  }

  private static String patchWith(Object v) {
    Map<String, Object> annotations = new LinkedHashMap<>();
    annotations.put(KEY, v);
    Map<String, Object> metadata = new LinkedHashMap<>();
    metadata.put("annotations", annotations);
    return Json.write(Map.of("metadata", metadata));
  }
}
