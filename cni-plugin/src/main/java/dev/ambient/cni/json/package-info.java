/** A tiny JSON reader and writer: no dependencies, so the CNI plugin starts fast. */
@NullMarked
package dev.ambient.cni.json;

import org.jspecify.annotations.NullMarked;
