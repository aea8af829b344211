package dev.ambient.xds.ca;

import static java.util.Objects.requireNonNull;

import dev.ambient.identity.Pem;
import dev.ambient.identity.TrustBundle;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;

/**
 * What the CA issued for one CSR: the leaf, the intermediates between it and the root, and the root
 * bundle.
 */
public record IssuedChain(X509Certificate leaf, List<X509Certificate> intermediates, TrustBundle roots) {
  public IssuedChain {
    requireNonNull(leaf, "leaf");
    intermediates = List.copyOf(intermediates);
    requireNonNull(roots, "roots");
  }

  /**
   * The {@code IstioCertificateResponse.cert_chain} elements in istiod's order (spec istio-ambient
   * §5): the leaf, then each intermediate as its own element, then the whole root bundle as the last
   * element. Every element is PEM ending in a newline.
   */
  public List<String> toCertChain() {
    List<String> out = new ArrayList<>(intermediates.size() + 2);
    out.add(Pem.encode(leaf));
    intermediates.forEach(c -> out.add(Pem.encode(c)));
    out.add(roots.toPem());
    return List.copyOf(out);
  }
}
