package dev.ambient.testing;

import static java.util.Objects.requireNonNull;

import java.time.Instant;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * What a leaf certificate issued by {@link TestCa#issue(LeafSpec)} looks like. Immutable: each
 * setter returns a new spec. Start with {@link #uris(String...)}; unset fields take the defaults of
 * {@link TestCa#issue(String)} (valid one hour ago until in 24 hours, EKU serverAuth + clientAuth,
 * EC P-256 key, no DNS or IP SANs).
 */
public final class LeafSpec {
  /** Extended key usages a leaf may carry. */
  public enum ExtendedKeyUsage {
    SERVER_AUTH,
    CLIENT_AUTH
  }

  /** The leaf's key pair algorithm. */
  public enum KeyAlgorithm {
    EC_P256,
    RSA_2048
  }

  // Package-private fields rather than accessors: accessors would clash with the varargs setters.
  final List<String> uris;
  final @Nullable Instant notBefore;
  final @Nullable Instant notAfter;
  final List<ExtendedKeyUsage> extendedKeyUsages;
  final List<String> dnsNames;
  final List<String> ipAddresses;
  final KeyAlgorithm keyAlgorithm;

  private LeafSpec(
      List<String> uris,
      @Nullable Instant notBefore,
      @Nullable Instant notAfter,
      List<ExtendedKeyUsage> extendedKeyUsages,
      List<String> dnsNames,
      List<String> ipAddresses,
      KeyAlgorithm keyAlgorithm) {
    this.uris = List.copyOf(uris);
    this.notBefore = notBefore;
    this.notAfter = notAfter;
    this.extendedKeyUsages = List.copyOf(extendedKeyUsages);
    this.dnsNames = List.copyOf(dnsNames);
    this.ipAddresses = List.copyOf(ipAddresses);
    this.keyAlgorithm = requireNonNull(keyAlgorithm, "keyAlgorithm");
  }

  /** A spec with these URI SANs (none: a certificate without a SPIFFE SAN) and defaults otherwise. */
  public static LeafSpec uris(String... uris) {
    return new LeafSpec(
        List.of(uris),
        null,
        null,
        List.of(ExtendedKeyUsage.SERVER_AUTH, ExtendedKeyUsage.CLIENT_AUTH),
        List.of(),
        List.of(),
        KeyAlgorithm.EC_P256);
  }

  public LeafSpec notBefore(Instant notBefore) {
    return new LeafSpec(uris, requireNonNull(notBefore, "notBefore"), notAfter, extendedKeyUsages, dnsNames,
        ipAddresses, keyAlgorithm);
  }

  public LeafSpec notAfter(Instant notAfter) {
    return new LeafSpec(uris, notBefore, requireNonNull(notAfter, "notAfter"), extendedKeyUsages, dnsNames,
        ipAddresses, keyAlgorithm);
  }

  /** The extended key usages; none ({@code extendedKeyUsages()}) means no EKU extension at all. */
  public LeafSpec extendedKeyUsages(ExtendedKeyUsage... usages) {
    return new LeafSpec(uris, notBefore, notAfter, List.of(usages), dnsNames, ipAddresses, keyAlgorithm);
  }

  public LeafSpec dnsNames(String... dnsNames) {
    return new LeafSpec(uris, notBefore, notAfter, extendedKeyUsages, List.of(dnsNames), ipAddresses, keyAlgorithm);
  }

  /** IP address SANs in textual form ({@code 198.18.0.1}, {@code 2001:db8::1}). */
  public LeafSpec ipAddresses(String... ipAddresses) {
    return new LeafSpec(uris, notBefore, notAfter, extendedKeyUsages, dnsNames, List.of(ipAddresses), keyAlgorithm);
  }

  public LeafSpec keyAlgorithm(KeyAlgorithm keyAlgorithm) {
    return new LeafSpec(uris, notBefore, notAfter, extendedKeyUsages, dnsNames, ipAddresses, keyAlgorithm);
  }

  @Override
  public String toString() {
    return "LeafSpec{uris=" + uris + ", notBefore=" + notBefore + ", notAfter=" + notAfter + ", eku="
        + extendedKeyUsages + ", dns=" + dnsNames + ", ip=" + ipAddresses + ", key=" + keyAlgorithm + "}";
  }
}
