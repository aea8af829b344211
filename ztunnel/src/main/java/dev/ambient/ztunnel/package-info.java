/** ztunnel, the per-node L4 proxy (not yet built). */
@NullMarked
package dev.ambient.ztunnel;

import org.jspecify.annotations.NullMarked;
