/**
 * The ztunnel process: wiring of configuration, xDS (or the local file), state, certificates,
 * listeners, admin endpoints, readiness and drain.
 */
@NullMarked
package dev.ambient.ztunnel.runtime;

import org.jspecify.annotations.NullMarked;
