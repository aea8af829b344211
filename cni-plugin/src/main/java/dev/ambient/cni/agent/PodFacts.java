package dev.ambient.cni.agent;

import java.net.InetAddress;
import java.util.List;
import java.util.Map;

/**
 * What the node agent needs to know about a pod to capture it, independent of any Kubernetes client
 * library: its identity for ZDS ({@code uid} is the Kubernetes pod UID, spec §2.9), its annotations
 * (per-pod capture options, the recorded netns) and its IPs from the pod status.
 */
public record PodFacts(
    String namespace,
    String name,
    String uid,
    String serviceAccount,
    Map<String, String> annotations,
    List<InetAddress> ips) {
  public PodFacts {
    annotations = Map.copyOf(annotations);
    ips = List.copyOf(ips);
  }

  public String key() {
    return namespace + "/" + name;
  }
}
