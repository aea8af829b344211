package dev.ambient.cni.plugin;

import dev.ambient.cni.agent.PodInfo;
import java.io.IOException;
import java.util.Map;

/** Where the plugin reads a pod and its namespace's labels from (the API server, in a cluster). */
interface PodLookup {
  /** A pod and the labels of its namespace. */
  record Facts(PodInfo pod, Map<String, String> namespaceLabels) {}

  Facts lookup(String namespace, String name) throws IOException, InterruptedException;
}
