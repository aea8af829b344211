/** The agent's Kubernetes side: fabric8 informers for pods on this node and namespaces, and the pod annotation. */
@NullMarked
package dev.ambient.cni.agent.k8s;

import org.jspecify.annotations.NullMarked;
