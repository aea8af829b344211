/** Benchmarks and side-by-side load runs. */
@NullMarked
package dev.ambient.bench;

import org.jspecify.annotations.NullMarked;
