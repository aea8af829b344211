/** Just enough HTTP/1.1 for the plugin ⇄ agent socket: one request, one response, Content-Length bodies. */
@NullMarked
package dev.ambient.cni.http;

import org.jspecify.annotations.NullMarked;
