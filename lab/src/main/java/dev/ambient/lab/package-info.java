/**
 * The one-machine lab: nodes and pods as network namespaces on a bridge (198.18.0.0/15 only), a mock
 * Kubernetes API server, the embedded control plane, and per node the CNI node agent and a shared-mode
 * ztunnel; pods are created through the real {@code istio-cni} plugin executable (DESIGN.md §7).
 */
@NullMarked
package dev.ambient.lab;

import org.jspecify.annotations.NullMarked;
