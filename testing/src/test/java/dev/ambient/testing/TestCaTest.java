package dev.ambient.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertPathValidator;
import java.security.cert.CertPathValidatorException;
import java.security.cert.CertificateFactory;
import java.security.cert.PKIXParameters;
import java.security.cert.TrustAnchor;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

@ExtendWith(LeakDetectionExtension.class)
class TestCaTest {
  private static final String ID = "spiffe://cluster.local/ns/default/sa/client";

  @Test
  void issue_defaultLeaf_hasSpiffeSanBothEkusAndIsNoCa() throws Exception {
    TestCa ca = TestCa.create("cluster.local");
    IssuedCertificate c = ca.issue(ID);

    assertThat(c.leaf().getSubjectAlternativeNames()).containsExactly(List.of(6, ID));
    assertThat(c.leaf().getExtendedKeyUsage()).containsExactlyInAnyOrder("1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2");
    assertThat(c.leaf().getBasicConstraints()).isEqualTo(-1);
    assertThat(c.leaf().getKeyUsage()[0]).as("digitalSignature").isTrue();
    assertThat(c.privateKey().getAlgorithm()).isEqualTo("EC");
    assertThat(c.root()).isEqualTo(ca.root()).isEqualTo(ca.certificate());
    assertThat(c.intermediates()).isEmpty();
    assertThat(ca.root().getSubjectX500Principal().getName()).contains("CN=Test Root cluster.local");
    assertThat(ca.root().getBasicConstraints()).isGreaterThanOrEqualTo(0);
    validate(c.chain(), ca.root());
  }

  @Test
  void issue_fromIntermediate_chainValidatesThroughIt() throws Exception {
    TestCa root = TestCa.create("cluster.local");
    TestCa inter = root.newIntermediate().newIntermediate();
    IssuedCertificate c = inter.issue(ID);

    assertThat(c.intermediates()).hasSize(2).first().isEqualTo(inter.certificate());
    assertThat(c.root()).isEqualTo(root.root());
    validate(c.chain(), root.root());
  }

  @Test
  void issue_unrelatedRoot_failsValidation() {
    IssuedCertificate c = TestCa.create("cluster.local").issue(ID);

    assertThatThrownBy(() -> validate(c.chain(), TestCa.create("cluster.local").root()))
        .isInstanceOf(CertPathValidatorException.class);
  }

  @Test
  void issue_spec_appliesEveryField() throws Exception {
    Instant nb = Instant.now().minus(3, ChronoUnit.DAYS).truncatedTo(ChronoUnit.SECONDS);
    Instant na = Instant.now().minus(2, ChronoUnit.DAYS).truncatedTo(ChronoUnit.SECONDS);
    IssuedCertificate c = TestCa.create("td").issue(LeafSpec.uris()
        .notBefore(nb).notAfter(na)
        .extendedKeyUsages(LeafSpec.ExtendedKeyUsage.SERVER_AUTH)
        .dnsNames("example.test")
        .ipAddresses("198.18.0.1")
        .keyAlgorithm(LeafSpec.KeyAlgorithm.RSA_2048));

    assertThat(c.leaf().getNotBefore().toInstant()).isEqualTo(nb);
    assertThat(c.leaf().getNotAfter().toInstant()).isEqualTo(na);
    assertThat(c.leaf().getExtendedKeyUsage()).containsExactly("1.3.6.1.5.5.7.3.1");
    assertThat(c.leaf().getSubjectAlternativeNames()).containsExactly(List.of(2, "example.test"), List.of(7, "198.18.0.1"));
    assertThat(c.privateKey().getAlgorithm()).isEqualTo("RSA");
  }

  @Test
  void issue_noEkus_omitsExtension() throws Exception {
    IssuedCertificate c = TestCa.create("td").issue(LeafSpec.uris(ID).extendedKeyUsages());

    assertThat(c.leaf().getExtendedKeyUsage()).isNull();
  }

  @Test
  void writeTo_writesIstioFileNamesAsPem(@TempDir Path dir) throws Exception {
    TestCa ca = TestCa.create("cluster.local").newIntermediate();
    IssuedCertificate c = ca.issue(ID);

    c.writeTo(dir);

    assertThat(Files.readString(dir.resolve("key.pem"))).startsWith("-----BEGIN PRIVATE KEY-----\n");
    var cf = CertificateFactory.getInstance("X.509");
    try (var in = Files.newInputStream(dir.resolve("cert-chain.pem"))) {
      assertThat(List.<java.security.cert.Certificate>copyOf(cf.generateCertificates(in))).containsExactly(c.leaf(), ca.certificate());
    }
    try (var in = Files.newInputStream(dir.resolve("root-cert.pem"))) {
      assertThat(List.<java.security.cert.Certificate>copyOf(cf.generateCertificates(in))).containsExactly(c.root());
    }
  }

  private static void validate(List<X509Certificate> chain, X509Certificate root) throws Exception {
    PKIXParameters params = new PKIXParameters(Set.of(new TrustAnchor(root, null)));
    params.setRevocationEnabled(false);
    CertPathValidator.getInstance("PKIX")
        .validate(CertificateFactory.getInstance("X.509").generateCertPath(chain), params);
  }
}
