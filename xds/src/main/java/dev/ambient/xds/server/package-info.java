/** The standalone control plane: a delta ADS server over a versioned resource store, and its command. */
@NullMarked
package dev.ambient.xds.server;

import org.jspecify.annotations.NullMarked;
