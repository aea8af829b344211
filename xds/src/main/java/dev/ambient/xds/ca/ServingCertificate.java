package dev.ambient.xds.ca;

import static java.util.Objects.requireNonNull;

import dev.ambient.identity.Pem;
import dev.ambient.identity.TrustBundle;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;

/**
 * A TLS server certificate for the control plane's own port (what istiod serves on 15012), issued
 * by {@link CertificateAuthority#issueServing}.
 */
public record ServingCertificate(
    PrivateKey privateKey, X509Certificate leaf, List<X509Certificate> intermediates, TrustBundle roots) {
  public ServingCertificate {
    requireNonNull(privateKey, "privateKey");
    requireNonNull(leaf, "leaf");
    intermediates = List.copyOf(intermediates);
    requireNonNull(roots, "roots");
  }

  /** Leaf and intermediates, as a TLS server presents them. */
  public List<X509Certificate> chain() {
    List<X509Certificate> chain = new ArrayList<>();
    chain.add(leaf);
    chain.addAll(intermediates);
    return List.copyOf(chain);
  }

  /** {@link #chain()} as PEM, e.g. for {@code TlsServerCredentials.create(chain, key)}. */
  public String chainPem() {
    return Pem.encode(chain());
  }

  /** The key as PKCS#8 PEM. */
  public String privateKeyPem() {
    return Pem.encode(privateKey);
  }

  @Override
  public String toString() {
    return "ServingCertificate{" + leaf.getSubjectX500Principal().getName() + ", notAfter="
        + leaf.getNotAfter().toInstant() + "}";
  }
}
