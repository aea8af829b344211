/** Messages generated from our own .proto files (Istio's and Envoy's names and numbers), and the gRPC methods. */
@NullMarked
package dev.ambient.xds.api;

import org.jspecify.annotations.NullMarked;
