/** Delta ADS client for istiod's workload API (not yet built). */
@NullMarked
package dev.ambient.xds.client;

import org.jspecify.annotations.NullMarked;
