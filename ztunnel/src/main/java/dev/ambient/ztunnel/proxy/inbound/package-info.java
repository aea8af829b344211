/**
 * The receiving side of the mesh (spec §5.2, §5.3, §5.6): the HBONE listener (15008), the plaintext
 * listener (15006), the pure {@link dev.ambient.ztunnel.proxy.inbound.InboundDecision} behind the
 * former, and the small byte-level pieces they use (PROXY v2 header, TCP splice relay).
 */
@NullMarked
package dev.ambient.ztunnel.proxy.inbound;

import org.jspecify.annotations.NullMarked;
