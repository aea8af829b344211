package dev.ambient.xds.ca;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ambient.identity.Pem;
import dev.ambient.identity.SpiffeId;
import dev.ambient.testing.TestCa;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CertificateAuthorityTest {
  private static final SpiffeId ID = SpiffeId.of("cluster.local", "default", "client");
  private static final Instant NOW = Instant.parse("2026-01-10T12:00:00Z");

  @TempDir Path dir;

  @Test
  void loadOrCreate_restart_reusesRootAndWritesRootCertPem() throws Exception {
    Path state = dir.resolve("state");
    CertificateAuthority first = CertificateAuthority.loadOrCreate(state, "example.org", Clock.systemUTC());
    CertificateAuthority second = CertificateAuthority.loadOrCreate(state, "example.org", Clock.systemUTC());

    assertThat(second.root()).isEqualTo(first.root());
    assertThat(first.root().getSubjectX500Principal().getName()).isEqualTo("O=example.org");
    assertThat(first.root().getBasicConstraints()).isGreaterThanOrEqualTo(0);
    assertThat(Pem.certificates(Files.readString(state.resolve("root-cert.pem")))).containsExactly(first.root());
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(state.resolve("ca-key.pem"))))
        .isEqualTo("rw-------");
    // A leaf signed after the restart chains to the root from before it.
    IssuedChain chain = second.sign(csr(ID), ID, Duration.ZERO);
    CaServiceTest.validate(List.of(chain.leaf()), first.root());
  }

  @Test
  void loadOrCreate_otherDirectory_newRoot() {
    CertificateAuthority a = CertificateAuthority.loadOrCreate(dir.resolve("a"), "cluster.local", Clock.systemUTC());
    CertificateAuthority b = CertificateAuthority.loadOrCreate(dir.resolve("b"), "cluster.local", Clock.systemUTC());
    assertThat(a.root()).isNotEqualTo(b.root());
  }

  @Test
  void sign_noTtl_defaultsTo24hStartingBeforeNow() {
    CertificateAuthority ca = CertificateAuthority.loadOrCreate(dir, "cluster.local", Clock.fixed(NOW, ZoneOffset.UTC));
    X509Certificate leaf = ca.sign(csr(ID), ID, Duration.ZERO).leaf();
    assertThat(leaf.getNotBefore().toInstant()).isEqualTo(NOW.minus(CertificateAuthority.CLOCK_SKEW_ALLOWANCE));
    assertThat(leaf.getNotAfter().toInstant()).isEqualTo(NOW.plus(Duration.ofHours(24)));
  }

  @Test
  void sign_noUriSan_invalidCsr() throws Exception {
    CertificateAuthority ca = CertificateAuthority.loadOrCreate(dir, "cluster.local", Clock.systemUTC());
    // A validly signed CSR that requests no SAN at all.
    var kpg = java.security.KeyPairGenerator.getInstance("EC");
    kpg.initialize(256);
    var kp = kpg.generateKeyPair();
    PKCS10CertificationRequest noSan = new org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequestBuilder(
        new org.bouncycastle.asn1.x500.X500Name("CN=x"), kp.getPublic())
        .build(new org.bouncycastle.operator.jcajce.JcaContentSignerBuilder("SHA256withECDSA").build(kp.getPrivate()));
    assertThatThrownBy(() -> ca.sign(noSan, ID, Duration.ZERO))
        .isInstanceOfSatisfying(CaException.class, e -> {
          assertThat(e.reason()).isEqualTo(CaException.Reason.INVALID_CSR);
          assertThat(e.getMessage()).contains("exactly one URI SAN");
        });
  }

  @Test
  void csr_generate_hasEmptySubjectAndOneCriticalSpiffeSan() throws Exception {
    Csr csr = Csr.generate(ID);
    PKCS10CertificationRequest parsed = Csr.parse(csr.pem());
    assertThat(parsed.getSubject().getRDNs()).isEmpty();
    assertThat(parsed.getSignatureAlgorithm().getAlgorithm().getId()).isEqualTo("1.2.840.10045.4.3.2");
    var ext = org.bouncycastle.asn1.x509.Extensions.getInstance(
        parsed.getAttributes(org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers.pkcs_9_at_extensionRequest)[0]
            .getAttrValues().getObjectAt(0));
    assertThat(ext.getExtensionOIDs()).hasSize(1);
    var san = ext.getExtension(org.bouncycastle.asn1.x509.Extension.subjectAlternativeName);
    assertThat(san.isCritical()).isTrue();
    assertThat(org.bouncycastle.asn1.x509.GeneralNames.getInstance(san.getParsedValue()).getNames())
        .singleElement().satisfies(n -> assertThat(n.getName().toString()).isEqualTo(ID.toString()));
    assertThat(csr.privateKey().getAlgorithm()).isEqualTo("EC");
  }

  @Test
  void fromPluginFiles_keyOfAnotherCertificate_failsNamingTheFile() throws Exception {
    TestCa root = TestCa.create("cluster.local");
    TestCa intermediate = root.newIntermediate();
    Files.writeString(dir.resolve("ca-cert.pem"), Pem.encode(intermediate.certificate()));
    Files.writeString(dir.resolve("ca-key.pem"), Pem.encode(root.privateKey()));
    Files.writeString(dir.resolve("root-cert.pem"), Pem.encode(root.root()));
    assertThatThrownBy(() -> CertificateAuthority.fromPluginFiles(dir))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("ca-key.pem is not the key of the certificate");
  }

  @Test
  void fromPluginFiles_chainNotReachingRoot_fails() throws Exception {
    TestCa intermediate = TestCa.create("cluster.local").newIntermediate();
    TestCa otherRoot = TestCa.create("cluster.local");
    Files.writeString(dir.resolve("ca-cert.pem"), Pem.encode(intermediate.certificate()));
    Files.writeString(dir.resolve("ca-key.pem"), Pem.encode(intermediate.privateKey()));
    Files.writeString(dir.resolve("root-cert.pem"), Pem.encode(otherRoot.root()));
    assertThatThrownBy(() -> CertificateAuthority.fromPluginFiles(dir))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("does not chain to the roots");
  }

  @Test
  void issueServing_hasDnsAndIpSansAndServerAuth() throws Exception {
    CertificateAuthority ca = CertificateAuthority.loadOrCreate(dir, "cluster.local", Clock.systemUTC());
    ServingCertificate s = ca.issueServing(List.of("istiod.istio-system.svc"),
        List.of(java.net.InetAddress.getByName("198.18.1.3")), Duration.ofDays(1));
    List<Object> sans = s.leaf().getSubjectAlternativeNames().stream().map(l -> (Object) l.get(1)).toList();
    assertThat(sans).containsExactly("istiod.istio-system.svc", "198.18.1.3");
    assertThat(s.leaf().getExtendedKeyUsage()).containsExactly("1.3.6.1.5.5.7.3.1");
    assertThat(Pem.privateKey(s.privateKeyPem())).isEqualTo(s.privateKey());
  }

  @Test
  void staticTokenAuthenticator_fromFile_parsesCallersAndRejectsBadLines() throws Exception {
    Path file = dir.resolve("tokens");
    Files.writeString(file, """
        # token identity flags
        zt spiffe://cluster.local/ns/istio-system/sa/ztunnel node-proxy

        cl spiffe://cluster.local/ns/default/sa/client
        """);
    StaticTokenAuthenticator auth = StaticTokenAuthenticator.fromFile(file);
    io.grpc.Metadata md = new io.grpc.Metadata();
    md.put(CallerAuthenticator.AUTHORIZATION, "Bearer zt");
    assertThat(auth.authenticate(md))
        .isEqualTo(new CallerAuthenticator.Caller(SpiffeId.parse("spiffe://cluster.local/ns/istio-system/sa/ztunnel"), true));
    md = new io.grpc.Metadata();
    md.put(CallerAuthenticator.AUTHORIZATION, "Bearer cl");
    assertThat(auth.authenticate(md).nodeProxy()).isFalse();

    Files.writeString(file, "tok spiffe://cluster.local/ns/a/sa/b admin\n");
    assertThatThrownBy(() -> StaticTokenAuthenticator.fromFile(file)).hasMessageContaining("tokens:1:");
  }

  @Test
  void toCertificate_emptyOrRootlessChain_emptyChainError() {
    var key = Csr.generate(ID).privateKey();
    assertThatThrownBy(() -> CaClient.toCertificate(List.of(), key, ID, false))
        .isInstanceOfSatisfying(CaException.class, e -> assertThat(e.reason()).isEqualTo(CaException.Reason.EMPTY_CHAIN));
    TestCa ca = TestCa.create("cluster.local");
    String leaf = Pem.encode(ca.issue(ID.toString()).leaf());
    assertThatThrownBy(() -> CaClient.toCertificate(List.of(leaf), key, ID, false))
        .isInstanceOfSatisfying(CaException.class, e -> assertThat(e.getMessage()).contains("no root bundle"));
  }

  @Test
  void toCertificate_sharedModeOtherSan_sanMismatch_dedicatedModeAccepted() {
    var key = Csr.generate(ID).privateKey();
    TestCa ca = TestCa.create("cluster.local");
    TestCa ca2 = TestCa.create("cluster.local");
    SpiffeId other = SpiffeId.of("cluster.local", "x", "y");
    List<String> chain = List.of(Pem.encode(ca.issue(other.toString()).leaf()),
        Pem.encode(List.of(ca.root(), ca2.root())));
    assertThatThrownBy(() -> CaClient.toCertificate(chain, key, ID, true))
        .isInstanceOfSatisfying(CaException.class, e -> assertThat(e.reason()).isEqualTo(CaException.Reason.SAN_MISMATCH));
    var cert = CaClient.toCertificate(chain, key, ID, false);
    assertThat(cert.trustBundle().roots()).as("every root of the bundle is trusted").containsExactly(ca.root(), ca2.root());
  }

  @Test
  void tokenSource_fromAuthToken_followsZtunnelRules() throws Exception {
    Path missing = dir.resolve("no-such-token");
    assertThat(TokenSource.fromAuthToken(null, missing)).isEqualTo(new TokenSource.None());
    Path projected = Files.writeString(dir.resolve("istio-token"), "jwt-1\n");
    assertThat(TokenSource.fromAuthToken(null, projected)).isEqualTo(new TokenSource.File(projected));
    assertThat(TokenSource.fromAuthToken(projected.toString(), missing)).isEqualTo(new TokenSource.File(projected));
    assertThat(TokenSource.fromAuthToken("literal-jwt", missing)).isEqualTo(new TokenSource.Literal("literal-jwt"));
    assertThat(new TokenSource.File(projected).currentToken()).contains("jwt-1");
    assertThat(new TokenSource.None().currentToken()).isEmpty();
  }

  private static PKCS10CertificationRequest csr(SpiffeId id) {
    return Csr.parse(Csr.generate(id).pem());
  }
}
