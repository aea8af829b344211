package dev.ambient.cni.agent;

/**
 * What the agent does to put a pod into the mesh and take it out again (in-pod rules, ZDS hand-off,
 * host ipset: wired by the agent's main). Both calls must be idempotent: they are retried.
 */
public interface PodSetup {
  /**
   * Captures the pod. Returns only when the pod's traffic is redirected and ztunnel holds it; throws
   * with a message saying what failed otherwise. {@code pod.netns()} is empty when the agent must
   * find the netns itself (informer path).
   */
  void addToMesh(CmdAdd pod) throws Exception;

  /**
   * Releases the pod.
   *
   * @param deleted true when the pod is going away (rules need not be removed from its netns)
   */
  default void removeFromMesh(String namespace, String name, boolean deleted) throws Exception {}
}
