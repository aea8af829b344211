/** The one-machine lab (not yet built). */
@NullMarked
package dev.ambient.lab;

import org.jspecify.annotations.NullMarked;
