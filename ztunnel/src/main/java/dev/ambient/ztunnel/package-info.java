/** ztunnel, the per-node L4 proxy: {@code state} (xDS snapshot, load balancing) and {@code proxy} (routing decisions). */
@NullMarked
package dev.ambient.ztunnel;

import org.jspecify.annotations.NullMarked;
