/** The waypoint L7 proxy (not yet built). */
@NullMarked
package dev.ambient.waypoint;

import org.jspecify.annotations.NullMarked;
