/** HBONE: HTTP/2 CONNECT tunnels over mutual TLS 1.3, pooled client, server and relay. */
@NullMarked
package dev.ambient.hbone;

import org.jspecify.annotations.NullMarked;
