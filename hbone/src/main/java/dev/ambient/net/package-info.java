/** Native transport choice and the Linux socket operations Netty does not expose. */
@NullMarked
package dev.ambient.net;

import org.jspecify.annotations.NullMarked;
