package dev.ambient.xds.ca;

import static java.util.Objects.requireNonNull;

import dev.ambient.identity.InvalidSpiffeIdException;
import dev.ambient.identity.Pem;
import dev.ambient.identity.SpiffeId;
import dev.ambient.identity.TrustBundle;
import java.io.IOException;
import java.io.StringReader;
import java.math.BigInteger;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.cert.CertPathValidator;
import java.security.cert.CertificateFactory;
import java.security.cert.PKIXParameters;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import org.bouncycastle.asn1.ASN1Encodable;
import org.bouncycastle.asn1.DEROctetString;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.asn1.x500.RDN;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.X500NameBuilder;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.Extensions;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.operator.jcajce.JcaContentVerifierProviderBuilder;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;
import org.bouncycastle.pkcs.PKCSException;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Signs workload CSRs the way istiod does (spec istio-ambient §5), with BouncyCastle.
 *
 * <h2>Key material</h2>
 * Either Istio's plug-in CA files ({@link #fromPluginFiles}: {@code ca-cert.pem}, {@code ca-key.pem},
 * {@code root-cert.pem}, {@code cert-chain.pem}) or a self-signed EC P-256 root kept in a state
 * directory ({@link #loadOrCreate}), which writes {@code root-cert.pem} there for clients.
 *
 * <h2>What is issued</h2>
 * A leaf with an empty subject, one critical URI SAN (the SPIFFE id), EKU serverAuth + clientAuth,
 * KU digitalSignature (plus keyEncipherment for RSA keys), not a CA. Validity starts
 * {@link #CLOCK_SKEW_ALLOWANCE} in the past and lasts the requested TTL ({@link
 * #DEFAULT_WORKLOAD_CERT_TTL} when none; more than the maximum, {@link #MAX_WORKLOAD_CERT_TTL} by
 * default, is an error as in istiod), never beyond the signing certificate's own expiry.
 *
 * <h2>Threading</h2>
 * Immutable and thread-safe.
 */
public final class CertificateAuthority {
  private static final Logger log = LoggerFactory.getLogger(CertificateAuthority.class);
  private static final SecureRandom RANDOM = new SecureRandom();

  /** istiod's {@code DEFAULT_WORKLOAD_CERT_TTL}: 24 hours. */
  public static final Duration DEFAULT_WORKLOAD_CERT_TTL = Duration.ofHours(24);
  /** istiod's {@code MAX_WORKLOAD_CERT_TTL}: 90 days; a longer request is refused. */
  public static final Duration MAX_WORKLOAD_CERT_TTL = Duration.ofDays(90);
  /** istiod's {@code CITADEL_SELF_SIGNED_CA_CERT_TTL}: 10 years. */
  public static final Duration SELF_SIGNED_ROOT_TTL = Duration.ofDays(3650);
  /** How far before "now" issued certificates start, so peers with a slow clock accept them. */
  public static final Duration CLOCK_SKEW_ALLOWANCE = Duration.ofMinutes(1);

  /** Plug-in / state file names, as in Istio's {@code cacerts} secret. */
  public static final String CA_CERT_FILE = "ca-cert.pem";
  public static final String CA_KEY_FILE = "ca-key.pem";
  public static final String ROOT_CERT_FILE = "root-cert.pem";
  public static final String CERT_CHAIN_FILE = "cert-chain.pem";

  private final X509Certificate signingCert;
  private final PrivateKey signingKey;
  /** Between the leaf and the root: the signing certificate first (unless it is a root). */
  private final List<X509Certificate> intermediates;
  private final TrustBundle roots;
  private final Clock clock;
  private final Duration defaultTtl;
  private final Duration maxTtl;

  private CertificateAuthority(
      X509Certificate signingCert, PrivateKey signingKey, List<X509Certificate> intermediates, TrustBundle roots,
      Clock clock, Duration defaultTtl, Duration maxTtl) {
    this.signingCert = signingCert;
    this.signingKey = signingKey;
    this.intermediates = List.copyOf(intermediates);
    this.roots = roots;
    this.clock = clock;
    this.defaultTtl = defaultTtl;
    this.maxTtl = maxTtl;
  }

  /** {@link #fromPluginFiles(Path, Clock)} with the system clock. */
  public static CertificateAuthority fromPluginFiles(Path caDir) {
    return fromPluginFiles(caDir, Clock.systemUTC());
  }

  /**
   * Loads Istio's plug-in CA files from {@code caDir}: {@code ca-cert.pem} (the signing certificate),
   * {@code ca-key.pem} (its key; PKCS#8, or PKCS#1/SEC1 {@code RSA}/{@code EC PRIVATE KEY}),
   * {@code root-cert.pem} (one or more roots) and {@code cert-chain.pem} (from the signing
   * certificate up to the root; optional when the signing certificate is itself the root).
   *
   * @throws IllegalStateException naming the file and the problem, when a file is missing or
   *     malformed, the key does not match the certificate, or the chain does not reach a root
   */
  public static CertificateAuthority fromPluginFiles(Path caDir, Clock clock) {
    requireNonNull(caDir, "caDir");
    requireNonNull(clock, "clock");
    Path chainFile = caDir.resolve(CERT_CHAIN_FILE);
    return load(caDir.resolve(CA_CERT_FILE), caDir.resolve(CA_KEY_FILE), caDir.resolve(ROOT_CERT_FILE),
        Files.exists(chainFile) ? chainFile : null, clock);
  }

  /**
   * The standalone CA: loads the self-signed root kept in {@code stateDir} ({@code ca-cert.pem},
   * {@code ca-key.pem}), or creates an EC P-256 root for {@code trustDomain} (subject
   * {@code O=<trustDomain>}, valid {@link #SELF_SIGNED_ROOT_TTL}) and writes it there. Either way
   * {@code <stateDir>/root-cert.pem} holds the root for clients ({@code CA_ROOT_CA}).
   *
   * @throws IllegalStateException when the directory cannot be written or holds unusable files
   */
  public static CertificateAuthority loadOrCreate(Path stateDir, String trustDomain, Clock clock) {
    requireNonNull(stateDir, "stateDir");
    requireNonNull(trustDomain, "trustDomain");
    requireNonNull(clock, "clock");
    Path certFile = stateDir.resolve(CA_CERT_FILE);
    Path keyFile = stateDir.resolve(CA_KEY_FILE);
    Path rootFile = stateDir.resolve(ROOT_CERT_FILE);
    try {
      Files.createDirectories(stateDir);
      if (Files.exists(certFile) && Files.exists(keyFile)) {
        X509Certificate cert = readCertificates(certFile).getFirst();
        if (!Files.exists(rootFile) || !readCertificates(rootFile).contains(cert)) {
          writeAtomically(rootFile, Pem.encode(cert), false);
        }
        CertificateAuthority ca = load(certFile, keyFile, rootFile, null, clock);
        log.info("CA: reusing the root {} from {}", cert.getSubjectX500Principal().getName(), stateDir);
        return ca;
      }
      KeyPair kp = newEcKeyPair();
      Instant now = clock.instant();
      X500Name name = new X500NameBuilder(BCStyle.INSTANCE).addRDN(BCStyle.O, trustDomain).build();
      JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
      X509v3CertificateBuilder b = new X509v3CertificateBuilder(name, serial(),
          Date.from(now.minus(CLOCK_SKEW_ALLOWANCE)), Date.from(now.plus(SELF_SIGNED_ROOT_TTL)), name,
          SubjectPublicKeyInfo.getInstance(kp.getPublic().getEncoded()));
      b.addExtension(Extension.basicConstraints, true, new BasicConstraints(true));
      b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
      b.addExtension(Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(kp.getPublic()));
      X509Certificate root = build(b, kp.getPrivate());
      writeAtomically(keyFile, Pem.encode(kp.getPrivate()), true);
      writeAtomically(certFile, Pem.encode(root), false);
      writeAtomically(rootFile, Pem.encode(root), false);
      log.info("CA: created a self-signed root for trust domain {} in {}", trustDomain, stateDir);
      return new CertificateAuthority(root, kp.getPrivate(), List.of(), TrustBundle.of(root), clock,
          DEFAULT_WORKLOAD_CERT_TTL, MAX_WORKLOAD_CERT_TTL);
    } catch (IOException | GeneralSecurityException e) {
      throw new IllegalStateException("cannot load or create the CA in " + stateDir + ": " + e.getMessage(), e);
    }
  }

  /** A copy with other workload TTLs (istiod's {@code DEFAULT_WORKLOAD_CERT_TTL} and {@code MAX_WORKLOAD_CERT_TTL}). */
  public CertificateAuthority withTtls(Duration defaultTtl, Duration maxTtl) {
    requireNonNull(defaultTtl, "defaultTtl");
    requireNonNull(maxTtl, "maxTtl");
    if (defaultTtl.isNegative() || defaultTtl.isZero() || defaultTtl.compareTo(maxTtl) > 0) {
      throw new IllegalArgumentException("need 0 < defaultTtl (" + defaultTtl + ") <= maxTtl (" + maxTtl + ")");
    }
    return new CertificateAuthority(signingCert, signingKey, intermediates, roots, clock, defaultTtl, maxTtl);
  }

  /** The first root of the bundle (the self-signed root, or the plug-in root). */
  public X509Certificate root() {
    return roots.roots().getFirst();
  }

  /** Every root, as returned as the last {@code cert_chain} element. */
  public TrustBundle trustBundle() {
    return roots;
  }

  /** The certificate that signs leaves. */
  public X509Certificate signingCertificate() {
    return signingCert;
  }

  /** The intermediates returned between the leaf and the roots (empty when the root signs). */
  public List<X509Certificate> intermediates() {
    return intermediates;
  }

  /**
   * Signs {@code csr} for {@code expectedIdentity}.
   *
   * @param requestedTtl the lifetime asked for; zero or negative means {@link #DEFAULT_WORKLOAD_CERT_TTL}
   * @throws CaException {@link CaException.Reason#INVALID_CSR} when the signature does not verify or
   *     the CSR does not hold exactly one SPIFFE URI SAN; {@link CaException.Reason#PERMISSION_DENIED}
   *     when that SAN is not {@code expectedIdentity}; {@link CaException.Reason#INVALID_REQUEST} when
   *     {@code requestedTtl} exceeds the maximum
   */
  public IssuedChain sign(PKCS10CertificationRequest csr, SpiffeId expectedIdentity, Duration requestedTtl) {
    requireNonNull(csr, "csr");
    requireNonNull(expectedIdentity, "expectedIdentity");
    requireNonNull(requestedTtl, "requestedTtl");
    verifySignature(csr);
    SpiffeId requested = requestedIdentity(csr);
    if (!requested.equals(expectedIdentity)) {
      throw new CaException(CaException.Reason.PERMISSION_DENIED,
          "the CSR asks for " + requested + " but the caller may only get " + expectedIdentity);
    }
    Duration ttl = requestedTtl.isZero() || requestedTtl.isNegative() ? defaultTtl : requestedTtl;
    if (ttl.compareTo(maxTtl) > 0) {
      throw new CaException(CaException.Reason.INVALID_REQUEST,
          "requested certificate TTL " + ttl + " exceeds the maximum " + maxTtl + " (MAX_WORKLOAD_CERT_TTL)");
    }
    String algorithm = csr.getSubjectPublicKeyInfo().getAlgorithm().getAlgorithm()
        .equals(PKCSObjectIdentifiers.rsaEncryption) ? "RSA" : "EC";
    int keyUsage = KeyUsage.digitalSignature | (algorithm.equals("RSA") ? KeyUsage.keyEncipherment : 0);
    X509Certificate leaf = issueLeaf(csr.getSubjectPublicKeyInfo(), new X500Name(new RDN[0]),
        new GeneralNames(new GeneralName(GeneralName.uniformResourceIdentifier, requested.toString())), true,
        keyUsage, new KeyPurposeId[] {KeyPurposeId.id_kp_serverAuth, KeyPurposeId.id_kp_clientAuth}, ttl);
    return new IssuedChain(leaf, intermediates, roots);
  }

  /**
   * A server certificate for the control plane's TLS port, with a fresh EC P-256 key; SANs are
   * {@code dnsNames} (e.g. {@code istiod.istio-system.svc}) and {@code ips} (the listen address).
   * EKU serverAuth. Not subject to the workload maximum TTL.
   */
  public ServingCertificate issueServing(List<String> dnsNames, List<InetAddress> ips, Duration ttl) {
    requireNonNull(dnsNames, "dnsNames");
    requireNonNull(ips, "ips");
    requireNonNull(ttl, "ttl");
    if (dnsNames.isEmpty() && ips.isEmpty()) {
      throw new IllegalArgumentException("a serving certificate needs at least one DNS name or IP address");
    }
    if (ttl.isNegative() || ttl.isZero()) {
      throw new IllegalArgumentException("ttl must be positive, was " + ttl);
    }
    List<GeneralName> sans = new ArrayList<>();
    dnsNames.forEach(d -> sans.add(new GeneralName(GeneralName.dNSName, d)));
    ips.forEach(ip -> sans.add(new GeneralName(GeneralName.iPAddress, new DEROctetString(ip.getAddress()))));
    KeyPair kp;
    try {
      kp = newEcKeyPair();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("cannot generate an EC P-256 key", e);
    }
    X500Name subject = new X500NameBuilder(BCStyle.INSTANCE)
        .addRDN(BCStyle.CN, dnsNames.isEmpty() ? ips.getFirst().getHostAddress() : dnsNames.getFirst()).build();
    X509Certificate leaf = issueLeaf(SubjectPublicKeyInfo.getInstance(kp.getPublic().getEncoded()), subject,
        new GeneralNames(sans.toArray(GeneralName[]::new)), false, KeyUsage.digitalSignature,
        new KeyPurposeId[] {KeyPurposeId.id_kp_serverAuth}, ttl);
    return new ServingCertificate(kp.getPrivate(), leaf, intermediates, roots);
  }

  private X509Certificate issueLeaf(
      SubjectPublicKeyInfo key, X500Name subject, GeneralNames sans, boolean sanCritical, int keyUsage,
      KeyPurposeId[] ekus, Duration ttl) {
    Instant now = clock.instant();
    Instant notAfter = now.plus(ttl);
    Instant caNotAfter = signingCert.getNotAfter().toInstant();
    if (notAfter.isAfter(caNotAfter)) {
      notAfter = caNotAfter;
    }
    try {
      JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
      X509v3CertificateBuilder b = new X509v3CertificateBuilder(
          X500Name.getInstance(signingCert.getSubjectX500Principal().getEncoded()), serial(),
          Date.from(now.minus(CLOCK_SKEW_ALLOWANCE)), Date.from(notAfter), subject, key);
      b.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
      b.addExtension(Extension.keyUsage, true, new KeyUsage(keyUsage));
      b.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(ekus));
      b.addExtension(Extension.subjectAlternativeName, sanCritical, sans);
      b.addExtension(Extension.authorityKeyIdentifier, false, ext.createAuthorityKeyIdentifier(signingCert));
      return build(b, signingKey);
    } catch (IOException | GeneralSecurityException e) {
      throw new CaException(CaException.Reason.SIGNING_FAILED, "cannot sign a certificate: " + e.getMessage(), e);
    }
  }

  private static void verifySignature(PKCS10CertificationRequest csr) {
    boolean valid;
    try {
      valid = csr.isSignatureValid(new JcaContentVerifierProviderBuilder().build(csr.getSubjectPublicKeyInfo()));
    } catch (OperatorCreationException | PKCSException | RuntimeException e) {
      throw new CaException(CaException.Reason.INVALID_CSR, "cannot verify the CSR signature: " + e.getMessage(), e);
    }
    if (!valid) {
      throw new CaException(CaException.Reason.INVALID_CSR, "the CSR signature does not verify with its public key");
    }
  }

  /** The single SPIFFE URI SAN requested in the CSR's extensionRequest attribute. */
  static SpiffeId requestedIdentity(PKCS10CertificationRequest csr) {
    List<String> uris = new ArrayList<>();
    for (var attribute : csr.getAttributes(PKCSObjectIdentifiers.pkcs_9_at_extensionRequest)) {
      for (ASN1Encodable value : attribute.getAttrValues()) {
        GeneralNames names = GeneralNames.fromExtensions(Extensions.getInstance(value), Extension.subjectAlternativeName);
        if (names == null) {
          continue;
        }
        for (GeneralName n : names.getNames()) {
          if (n.getTagNo() == GeneralName.uniformResourceIdentifier) {
            uris.add(n.getName().toString());
          }
        }
      }
    }
    if (uris.size() != 1) {
      throw new CaException(CaException.Reason.INVALID_CSR,
          "the CSR must request exactly one URI SAN (the SPIFFE id), found " + uris);
    }
    try {
      return SpiffeId.parse(uris.getFirst());
    } catch (InvalidSpiffeIdException e) {
      throw new CaException(CaException.Reason.INVALID_CSR, "the CSR's URI SAN is not a SPIFFE id: " + e.getMessage(), e);
    }
  }

  private static CertificateAuthority load(
      Path certFile, Path keyFile, Path rootFile, @Nullable Path chainFile, Clock clock) {
    X509Certificate cert = readOne(certFile);
    PrivateKey key = readKey(keyFile);
    TrustBundle roots;
    try {
      roots = TrustBundle.of(readCertificates(rootFile));
    } catch (IOException | RuntimeException e) {
      throw new IllegalStateException("cannot read the roots from " + rootFile + ": " + e.getMessage(), e);
    }
    if (!keyMatches(key, cert.getPublicKey())) {
      throw new IllegalStateException(keyFile + " is not the key of the certificate in " + certFile);
    }
    List<X509Certificate> path = new ArrayList<>();
    if (chainFile != null) {
      List<X509Certificate> chain;
      try {
        chain = readCertificates(chainFile);
      } catch (IOException | RuntimeException e) {
        throw new IllegalStateException("cannot read " + chainFile + ": " + e.getMessage(), e);
      }
      if (chain.isEmpty() || !chain.getFirst().equals(cert)) {
        throw new IllegalStateException(chainFile + " must start with the signing certificate of " + certFile);
      }
      chain.stream().filter(c -> !roots.roots().contains(c)).forEach(path::add);
    } else if (!roots.roots().contains(cert)) {
      path.add(cert);
    }
    Instant now = clock.instant();
    if (now.isAfter(cert.getNotAfter().toInstant())) {
      throw new IllegalStateException("the CA certificate in " + certFile + " expired at "
          + cert.getNotAfter().toInstant() + "; replace the CA files (or delete the state directory)");
    }
    if (!path.isEmpty()) {
      try {
        PKIXParameters params = new PKIXParameters(roots.anchors());
        params.setRevocationEnabled(false);
        params.setDate(Date.from(now));
        CertPathValidator.getInstance("PKIX")
            .validate(CertificateFactory.getInstance("X.509").generateCertPath(path), params);
      } catch (GeneralSecurityException e) {
        throw new IllegalStateException("the CA chain " + path.stream()
            .map(c -> c.getSubjectX500Principal().getName()).toList() + " does not chain to the roots in "
            + rootFile + ": " + e.getMessage(), e);
      }
    }
    return new CertificateAuthority(cert, key, path, roots, clock, DEFAULT_WORKLOAD_CERT_TTL, MAX_WORKLOAD_CERT_TTL);
  }

  private static X509Certificate readOne(Path file) {
    try {
      List<X509Certificate> certs = readCertificates(file);
      if (certs.isEmpty()) {
        throw new IllegalStateException(file + " holds no PEM certificate");
      }
      return certs.getFirst();
    } catch (IOException | IllegalArgumentException e) {
      throw new IllegalStateException("cannot read the certificate " + file + ": " + e.getMessage(), e);
    }
  }

  private static List<X509Certificate> readCertificates(Path file) throws IOException {
    return Pem.certificates(Files.readString(file, StandardCharsets.US_ASCII));
  }

  private static PrivateKey readKey(Path file) {
    try (PEMParser parser = new PEMParser(new StringReader(Files.readString(file, StandardCharsets.US_ASCII)))) {
      JcaPEMKeyConverter converter = new JcaPEMKeyConverter();
      for (Object o = parser.readObject(); o != null; o = parser.readObject()) {
        if (o instanceof PrivateKeyInfo info) {
          return converter.getPrivateKey(info);
        }
        if (o instanceof PEMKeyPair pair) {
          return converter.getKeyPair(pair).getPrivate();
        }
      }
      throw new IllegalStateException(file + " holds no unencrypted private key (PKCS#8 or PKCS#1/SEC1 PEM)");
    } catch (IOException e) {
      throw new IllegalStateException("cannot read the CA key " + file + ": " + e.getMessage(), e);
    }
  }

  private static boolean keyMatches(PrivateKey key, PublicKey pub) {
    try {
      String alg = signatureAlgorithm(key);
      byte[] probe = "ambient-ca-key-check".getBytes(StandardCharsets.US_ASCII);
      Signature s = Signature.getInstance(alg);
      s.initSign(key);
      s.update(probe);
      byte[] sig = s.sign();
      Signature v = Signature.getInstance(alg);
      v.initVerify(pub);
      v.update(probe);
      return v.verify(sig);
    } catch (GeneralSecurityException e) {
      return false;
    }
  }

  private static String signatureAlgorithm(PrivateKey key) {
    return switch (key.getAlgorithm()) {
      case "RSA" -> "SHA256withRSA";
      case "EC", "ECDSA" -> "SHA256withECDSA";
      default -> throw new IllegalStateException("unsupported CA key algorithm " + key.getAlgorithm());
    };
  }

  private static X509Certificate build(X509v3CertificateBuilder b, PrivateKey key) throws GeneralSecurityException {
    try {
      return new JcaX509CertificateConverter().getCertificate(
          b.build(new JcaContentSignerBuilder(signatureAlgorithm(key)).build(key)));
    } catch (OperatorCreationException e) {
      throw new GeneralSecurityException("cannot build a signer: " + e.getMessage(), e);
    }
  }

  private static KeyPair newEcKeyPair() throws GeneralSecurityException {
    KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
    g.initialize(new ECGenParameterSpec("secp256r1"), RANDOM);
    return g.generateKeyPair();
  }

  private static BigInteger serial() {
    return new BigInteger(127, RANDOM).add(BigInteger.ONE);
  }

  private static void writeAtomically(Path file, String content, boolean secret) throws IOException {
    Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
    Files.deleteIfExists(tmp);
    if (secret && file.getFileSystem().supportedFileAttributeViews().contains("posix")) {
      Files.createFile(tmp, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
    }
    Files.writeString(tmp, content, StandardCharsets.US_ASCII);
    try {
      Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    } catch (AtomicMoveNotSupportedException e) {
      Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
    }
  }

  @Override
  public String toString() {
    return "CertificateAuthority{signer=" + signingCert.getSubjectX500Principal().getName() + ", roots=" + roots + "}";
  }
}
