/** {@code ./ambient bench pods}: pod start cost (CNI ADD, ZDS add to ack) and per-pod ztunnel memory in a 1-node lab. */
@NullMarked
package dev.ambient.bench.pods;

import org.jspecify.annotations.NullMarked;
