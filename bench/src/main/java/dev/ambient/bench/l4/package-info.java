/** {@code ./ambient bench l4}: L4 through two ztunnels in network namespaces vs. direct and an HAProxy mTLS pair. */
@NullMarked
package dev.ambient.bench.l4;

import org.jspecify.annotations.NullMarked;
