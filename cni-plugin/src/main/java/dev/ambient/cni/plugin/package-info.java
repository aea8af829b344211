/**
 * The {@code istio-cni} CNI plugin executable (CNI spec 1.0, also 0.4.0 and 0.3.x configs). ADD
 * decides whether the pod is ambient and, if so, hands it to the node agent over
 * {@code pluginevent.sock}; DEL and CHECK succeed without network work. No Netty, no gRPC and no
 * JSON library: it must start fast.
 */
@NullMarked
package dev.ambient.cni.plugin;

import org.jspecify.annotations.NullMarked;
