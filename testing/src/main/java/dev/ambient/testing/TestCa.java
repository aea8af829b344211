package dev.ambient.testing;

import static java.util.Objects.requireNonNull;

import java.math.BigInteger;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import org.bouncycastle.asn1.x500.RDN;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.CertIOException;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.jspecify.annotations.Nullable;

/**
 * A certificate authority for tests, minted with BouncyCastle: an EC P-256 root (or an intermediate
 * below one) that issues SPIFFE workload leaves shaped like istiod's (empty subject, critical URI
 * SAN, EKU serverAuth + clientAuth). Thread-safe; every call generates fresh keys.
 *
 * <pre>{@code
 * TestCa ca = TestCa.create("cluster.local");
 * IssuedCertificate cert = ca.issue("spiffe://cluster.local/ns/default/sa/client");
 * IssuedCertificate expired = ca.issue(LeafSpec.uris("spiffe://cluster.local/ns/a/sa/b")
 *     .notBefore(Instant.now().minus(Duration.ofDays(2))).notAfter(Instant.now().minus(Duration.ofDays(1))));
 * }</pre>
 */
public final class TestCa {
  private static final SecureRandom RANDOM = new SecureRandom();
  private static final String SIGNATURE_ALGORITHM = "SHA256withECDSA";

  private final String trustDomain;
  private final KeyPair keyPair;
  private final X509Certificate certificate;
  /** This CA's own certificate followed by its ancestors up to, excluding, the root; empty for a root. */
  private final List<X509Certificate> intermediates;
  private final X509Certificate root;
  private final int depth;

  private TestCa(
      String trustDomain, KeyPair keyPair, X509Certificate certificate, List<X509Certificate> intermediates,
      X509Certificate root, int depth) {
    this.trustDomain = trustDomain;
    this.keyPair = keyPair;
    this.certificate = certificate;
    this.intermediates = List.copyOf(intermediates);
    this.root = root;
    this.depth = depth;
  }

  /** A self-signed EC P-256 root, CN "Test Root &lt;trustDomain&gt;", valid from a day ago for ten years. */
  public static TestCa create(String trustDomain) {
    requireNonNull(trustDomain, "trustDomain");
    KeyPair kp = generate(LeafSpec.KeyAlgorithm.EC_P256);
    X500Name name = new X500Name("CN=Test Root " + trustDomain + ",O=ambient-testing");
    Instant now = Instant.now();
    X509Certificate cert =
        caCertificate(name, kp, name, kp.getPrivate(), null, now.minus(Duration.ofDays(1)),
            now.plus(Duration.ofDays(3650)));
    return new TestCa(trustDomain, kp, cert, List.of(), cert, 0);
  }

  /** An intermediate CA signed by this one, in the same trust domain; its leaves carry it in {@code intermediates()}. */
  public TestCa newIntermediate() {
    KeyPair kp = generate(LeafSpec.KeyAlgorithm.EC_P256);
    X500Name name = new X500Name("CN=Test Intermediate " + (depth + 1) + " " + trustDomain + ",O=ambient-testing");
    Instant now = Instant.now();
    X509Certificate cert = caCertificate(
        name, kp, subject(certificate), keyPair.getPrivate(), certificate, now.minus(Duration.ofDays(1)),
        now.plus(Duration.ofDays(365)));
    List<X509Certificate> chain = new ArrayList<>();
    chain.add(cert);
    chain.addAll(intermediates);
    return new TestCa(trustDomain, kp, cert, chain, root, depth + 1);
  }

  public String trustDomain() {
    return trustDomain;
  }

  /** The root at the top of this CA's chain (this CA's own certificate for a root). */
  public X509Certificate root() {
    return root;
  }

  /** This CA's own certificate. */
  public X509Certificate certificate() {
    return certificate;
  }

  public PrivateKey privateKey() {
    return keyPair.getPrivate();
  }

  /** An EC P-256 leaf with URI SAN {@code spiffeUri}, valid from an hour ago for 24 hours, EKU serverAuth + clientAuth. */
  public IssuedCertificate issue(String spiffeUri) {
    return issue(LeafSpec.uris(requireNonNull(spiffeUri, "spiffeUri")));
  }

  public IssuedCertificate issue(LeafSpec spec) {
    requireNonNull(spec, "spec");
    Instant now = Instant.now();
    Instant notBefore = spec.notBefore != null ? spec.notBefore : now.minus(Duration.ofHours(1));
    Instant notAfter = spec.notAfter != null ? spec.notAfter : now.plus(Duration.ofHours(24));
    KeyPair kp = generate(spec.keyAlgorithm);

    List<GeneralName> sans = new ArrayList<>();
    spec.uris.forEach(u -> sans.add(new GeneralName(GeneralName.uniformResourceIdentifier, u)));
    spec.dnsNames.forEach(d -> sans.add(new GeneralName(GeneralName.dNSName, d)));
    spec.ipAddresses.forEach(ip -> sans.add(new GeneralName(GeneralName.iPAddress, ip)));
    // Like istiod: an empty subject and a critical SAN; a leaf without SANs gets a CN so it names something.
    X500Name subject = sans.isEmpty() ? new X500Name("CN=leaf without SAN") : new X500Name(new RDN[0]);
    try {
      JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
      X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(
          subject(certificate), serial(), Date.from(notBefore), Date.from(notAfter), subject, kp.getPublic());
      b.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
      b.addExtension(Extension.keyUsage, true,
          new KeyUsage(KeyUsage.digitalSignature
              | (spec.keyAlgorithm == LeafSpec.KeyAlgorithm.RSA_2048 ? KeyUsage.keyEncipherment : 0)));
      if (!spec.extendedKeyUsages.isEmpty()) {
        KeyPurposeId[] purposes = spec.extendedKeyUsages.stream()
            .map(u -> switch (u) {
              case SERVER_AUTH -> KeyPurposeId.id_kp_serverAuth;
              case CLIENT_AUTH -> KeyPurposeId.id_kp_clientAuth;
            })
            .toArray(KeyPurposeId[]::new);
        b.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(purposes));
      }
      if (!sans.isEmpty()) {
        b.addExtension(Extension.subjectAlternativeName, true,
            new GeneralNames(sans.toArray(GeneralName[]::new)));
      }
      b.addExtension(Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(kp.getPublic()));
      b.addExtension(Extension.authorityKeyIdentifier, false, ext.createAuthorityKeyIdentifier(certificate));
      X509Certificate leaf = sign(b, keyPair.getPrivate());
      return new IssuedCertificate(kp.getPrivate(), leaf, intermediates, root);
    } catch (GeneralSecurityException | CertIOException e) {
      throw new IllegalStateException("cannot issue leaf " + spec, e);
    }
  }

  private static X509Certificate caCertificate(
      X500Name subject, KeyPair kp, X500Name issuer, PrivateKey issuerKey, @Nullable X509Certificate issuerCert,
      Instant notBefore, Instant notAfter) {
    try {
      JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
      X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(
          issuer, serial(), Date.from(notBefore), Date.from(notAfter), subject, kp.getPublic());
      b.addExtension(Extension.basicConstraints, true, new BasicConstraints(true));
      b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
      b.addExtension(Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(kp.getPublic()));
      if (issuerCert != null) {
        b.addExtension(Extension.authorityKeyIdentifier, false, ext.createAuthorityKeyIdentifier(issuerCert));
      }
      return sign(b, issuerKey);
    } catch (GeneralSecurityException | CertIOException e) {
      throw new IllegalStateException("cannot create CA certificate " + subject, e);
    }
  }

  private static X509Certificate sign(X509v3CertificateBuilder b, PrivateKey key) throws GeneralSecurityException {
    try {
      return new JcaX509CertificateConverter().getCertificate(
          b.build(new JcaContentSignerBuilder(SIGNATURE_ALGORITHM).build(key)));
    } catch (OperatorCreationException e) {
      throw new GeneralSecurityException("cannot build signer", e);
    }
  }

  private static X500Name subject(X509Certificate cert) {
    return X500Name.getInstance(cert.getSubjectX500Principal().getEncoded());
  }

  private static BigInteger serial() {
    return new BigInteger(63, RANDOM).add(BigInteger.ONE);
  }

  private static KeyPair generate(LeafSpec.KeyAlgorithm algorithm) {
    try {
      return switch (algorithm) {
        case EC_P256 -> {
          KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
          g.initialize(new ECGenParameterSpec("secp256r1"), RANDOM);
          yield g.generateKeyPair();
        }
        case RSA_2048 -> {
          KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
          g.initialize(2048, RANDOM);
          yield g.generateKeyPair();
        }
      };
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("cannot generate " + algorithm + " key pair", e);
    }
  }

  @Override
  public String toString() {
    return "TestCa{" + certificate.getSubjectX500Principal().getName() + "}";
  }
}
