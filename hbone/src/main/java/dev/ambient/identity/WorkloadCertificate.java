package dev.ambient.identity;

import static java.util.Objects.requireNonNull;

import java.security.PrivateKey;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Optional;

/**
 * A workload's X.509 SVID: private key, leaf, intermediates (presented in handshakes; the root is
 * not) and the trust bundle its CA returned with it. Immutable.
 */
public final class WorkloadCertificate {
  private final PrivateKey privateKey;
  private final X509Certificate leaf;
  private final List<X509Certificate> intermediates;
  private final TrustBundle trustBundle;
  private final SpiffeId identity;

  private WorkloadCertificate(
      PrivateKey privateKey, X509Certificate leaf, List<X509Certificate> intermediates, TrustBundle trustBundle) {
    this.privateKey = requireNonNull(privateKey, "privateKey");
    this.leaf = requireNonNull(leaf, "leaf");
    this.intermediates = List.copyOf(intermediates);
    this.trustBundle = requireNonNull(trustBundle, "trustBundle");
    this.identity = firstSpiffeId(leaf)
        .orElseThrow(() -> new IllegalArgumentException(
            "certificate " + leaf.getSubjectX500Principal().getName() + " has no SPIFFE URI SAN"));
  }

  public static WorkloadCertificate of(
      PrivateKey privateKey, X509Certificate leaf, List<X509Certificate> intermediates, TrustBundle trustBundle) {
    return new WorkloadCertificate(privateKey, leaf, intermediates, trustBundle);
  }

  /**
   * Builds from PEM text: a PKCS#8 key, a chain whose first certificate is the leaf (the rest are
   * intermediates), and the root bundle.
   */
  public static WorkloadCertificate fromPem(String keyPem, String chainPem, String rootsPem) {
    List<X509Certificate> chain = Pem.certificates(chainPem);
    if (chain.isEmpty()) {
      throw new IllegalArgumentException("certificate chain PEM holds no certificate");
    }
    return new WorkloadCertificate(
        Pem.privateKey(keyPem), chain.getFirst(), chain.subList(1, chain.size()), TrustBundle.fromPem(rootsPem));
  }

  /** The first SPIFFE URI SAN of the leaf (spec §4.3: the identity used for RBAC and telemetry). */
  public SpiffeId identity() {
    return identity;
  }

  public PrivateKey privateKey() {
    return privateKey;
  }

  public X509Certificate leaf() {
    return leaf;
  }

  public List<X509Certificate> intermediates() {
    return intermediates;
  }

  /** Leaf then intermediates: what is presented in a handshake. */
  public List<X509Certificate> chain() {
    List<X509Certificate> chain = new ArrayList<>(intermediates.size() + 1);
    chain.add(leaf);
    chain.addAll(intermediates);
    return List.copyOf(chain);
  }

  public TrustBundle trustBundle() {
    return trustBundle;
  }

  public Instant notBefore() {
    return leaf.getNotBefore().toInstant();
  }

  public Instant notAfter() {
    return leaf.getNotAfter().toInstant();
  }

  /** Istio's refresh point: half way through the validity window (spec §8.5). */
  public Instant refreshAt() {
    Instant nb = notBefore();
    return nb.plus(java.time.Duration.between(nb, notAfter()).dividedBy(2));
  }

  public boolean isValidAt(Instant now) {
    return !now.isBefore(notBefore()) && !now.isAfter(notAfter());
  }

  /** The first SPIFFE URI SAN of {@code cert}, if any. */
  public static Optional<SpiffeId> firstSpiffeId(X509Certificate cert) {
    for (String uri : uriSans(cert)) {
      Optional<SpiffeId> id = SpiffeId.tryParse(uri);
      if (id.isPresent()) {
        return id;
      }
    }
    return Optional.empty();
  }

  /** Every URI SAN of {@code cert}, in order. */
  public static List<String> uriSans(X509Certificate cert) {
    try {
      Collection<List<?>> sans = cert.getSubjectAlternativeNames();
      if (sans == null) {
        return List.of();
      }
      List<String> uris = new ArrayList<>();
      for (List<?> san : sans) {
        if (san.size() >= 2 && Integer.valueOf(6).equals(san.get(0)) && san.get(1) instanceof String s) {
          uris.add(s);
        }
      }
      return uris;
    } catch (CertificateParsingException e) {
      return List.of();
    }
  }

  @Override
  public String toString() {
    return "WorkloadCertificate{" + identity + ", notAfter=" + notAfter() + "}";
  }
}
