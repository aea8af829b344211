/** ztunnel, the per-node L4 proxy: so far its process configuration ({@link dev.ambient.ztunnel.ZtunnelConfig}). */
@NullMarked
package dev.ambient.ztunnel;

import org.jspecify.annotations.NullMarked;
