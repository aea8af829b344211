package dev.ambient.identity;

import static java.util.Objects.requireNonNull;

import java.security.cert.TrustAnchor;
import java.security.cert.X509Certificate;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * The roots a workload trusts: one or more CA certificates (the last element of istiod's CA
 * response may hold several concatenated roots; all are trusted, spec §8.3).
 */
public final class TrustBundle {
  private final List<X509Certificate> roots;
  private final Set<TrustAnchor> anchors;

  private TrustBundle(List<X509Certificate> roots) {
    if (roots.isEmpty()) {
      throw new IllegalArgumentException("a trust bundle needs at least one root certificate");
    }
    this.roots = List.copyOf(roots);
    Set<TrustAnchor> a = new LinkedHashSet<>();
    for (X509Certificate root : this.roots) {
      a.add(new TrustAnchor(root, null));
    }
    this.anchors = Set.copyOf(a);
  }

  public static TrustBundle of(Collection<X509Certificate> roots) {
    requireNonNull(roots, "roots");
    return new TrustBundle(List.copyOf(roots));
  }

  public static TrustBundle of(X509Certificate... roots) {
    return new TrustBundle(List.of(roots));
  }

  /** Parses one or more concatenated PEM certificates. */
  public static TrustBundle fromPem(String pem) {
    return new TrustBundle(Pem.certificates(requireNonNull(pem, "pem")));
  }

  public List<X509Certificate> roots() {
    return roots;
  }

  /** PKIX trust anchors for the roots. */
  public Set<TrustAnchor> anchors() {
    return anchors;
  }

  public String toPem() {
    return Pem.encode(roots);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof TrustBundle other && roots.equals(other.roots);
  }

  @Override
  public int hashCode() {
    return roots.hashCode();
  }

  @Override
  public String toString() {
    return "TrustBundle" + roots.stream().map(c -> c.getSubjectX500Principal().getName()).toList();
  }
}
