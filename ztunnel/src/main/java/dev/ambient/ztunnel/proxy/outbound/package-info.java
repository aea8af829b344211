/**
 * The outbound proxy path (spec §5.1): the 15001 listener (and SOCKS5), which takes each accepted
 * application connection, decides its {@link dev.ambient.ztunnel.proxy.Route} and carries it out
 * over HBONE, double HBONE through a network gateway ({@link InnerHbone}) or plain TCP.
 */
@NullMarked
package dev.ambient.ztunnel.proxy.outbound;

import org.jspecify.annotations.NullMarked;
