/**
 * ztunnel's local HTTP endpoints (spec §9.1, §9.4–§9.6): readiness ({@code /healthz/ready}), the
 * Prometheus scrape ({@code /metrics}) and the localhost-only admin API ({@code /config_dump},
 * {@code /logging}, {@code /quitquitquit}). Routing and rendering are pure functions; the Netty code
 * only moves bytes.
 */
@NullMarked
package dev.ambient.ztunnel.admin;

import org.jspecify.annotations.NullMarked;
