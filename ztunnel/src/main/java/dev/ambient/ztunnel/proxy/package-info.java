/** Proxy decisions: pure functions from (connection facts, state snapshot) to a {@link dev.ambient.ztunnel.proxy.Route}. */
@NullMarked
package dev.ambient.ztunnel.proxy;

import org.jspecify.annotations.NullMarked;
