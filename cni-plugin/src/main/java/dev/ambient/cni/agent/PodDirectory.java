package dev.ambient.cni.agent;

import org.jspecify.annotations.Nullable;

/** Looks pods of this node up (the agent's informer cache). */
@FunctionalInterface
public interface PodDirectory {
  /** The pod as last seen, or null when it is not (or no longer) known. */
  @Nullable PodFacts find(String namespace, String name);
}
