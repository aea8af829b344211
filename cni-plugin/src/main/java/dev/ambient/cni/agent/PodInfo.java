package dev.ambient.cni.agent;

import java.util.List;
import java.util.Map;

/** What enrolment needs to know about a pod, independent of any Kubernetes client library. */
public record PodInfo(
    String namespace,
    String name,
    Map<String, String> labels,
    Map<String, String> annotations,
    boolean hostNetwork,
    List<String> containerNames) {
  public PodInfo {
    labels = Map.copyOf(labels);
    annotations = Map.copyOf(annotations);
    containerNames = List.copyOf(containerNames);
  }
}
