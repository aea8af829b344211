/** The CNI plugin executable (not yet built). */
@NullMarked
package dev.ambient.cni.plugin;

import org.jspecify.annotations.NullMarked;
