/**
 * File-based control-plane configuration: ztunnel's local-config YAML and Istio security CRDs, parsed and
 * translated into the workload API resources that istiod would send.
 */
@NullMarked
package dev.ambient.xds.config;

import org.jspecify.annotations.NullMarked;
