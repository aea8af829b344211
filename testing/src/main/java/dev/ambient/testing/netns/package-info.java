/** Network-namespace topologies for root-only tests and benchmarks (bridge, veth pairs, node namespaces). */
@NullMarked
package dev.ambient.testing.netns;

import org.jspecify.annotations.NullMarked;
