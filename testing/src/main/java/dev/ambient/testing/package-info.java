/** Shared test fixtures: a test PKI and leak-checking helpers. */
@NullMarked
package dev.ambient.testing;

import org.jspecify.annotations.NullMarked;
