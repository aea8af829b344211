/** SPIFFE workload identities, certificates, trust bundles and the TLS contexts that check them. */
@NullMarked
package dev.ambient.identity;

import org.jspecify.annotations.NullMarked;
