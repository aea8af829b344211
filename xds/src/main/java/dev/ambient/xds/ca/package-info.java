/**
 * Istio's certificate API on both sides: the CA that signs workload CSRs (server) and ztunnel's CA
 * client with its certificate cache (client).
 */
@NullMarked
package dev.ambient.xds.ca;

import org.jspecify.annotations.NullMarked;
