/**
 * In-pod (shared) mode, spec §7: the ZDS client that learns the node's pods from the CNI node agent,
 * the workload manager that runs one proxy per pod, and the socket factory that creates each pod
 * proxy's sockets inside the pod's network namespace.
 */
@NullMarked
package dev.ambient.ztunnel.inpod;

import org.jspecify.annotations.NullMarked;
