/**
 * Connection telemetry (spec §9.2–§9.3): Istio's {@code istio_tcp_*} metrics and the {@code access}
 * log. The proxy paths report through {@link dev.ambient.ztunnel.telemetry.ConnectionTelemetry};
 * nothing here touches sockets.
 */
@NullMarked
package dev.ambient.ztunnel.telemetry;

import org.jspecify.annotations.NullMarked;
