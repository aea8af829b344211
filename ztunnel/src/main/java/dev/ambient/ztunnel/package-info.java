/** ztunnel, the per-node L4 proxy: process configuration ({@link dev.ambient.ztunnel.ZtunnelConfig}); subpackages {@code state}, {@code proxy} (routing decisions), {@code authz}. */
@NullMarked
package dev.ambient.ztunnel;

import org.jspecify.annotations.NullMarked;
