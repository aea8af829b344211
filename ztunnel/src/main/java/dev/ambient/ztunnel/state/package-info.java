/**
 * The proxy's view of the mesh: an immutable {@link dev.ambient.ztunnel.state.ProxyState} snapshot
 * built by the single {@link dev.ambient.ztunnel.state.StateUpdater} and read through {@link
 * dev.ambient.ztunnel.state.StateHolder#current()}, plus the pure selection functions used on the data
 * path (load balancing, destination IP choice, waypoint and gateway resolution). No sockets here.
 */
@NullMarked
package dev.ambient.ztunnel.state;

import org.jspecify.annotations.NullMarked;
