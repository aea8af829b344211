package dev.ambient.identity;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ambient.testing.IssuedCertificate;
import dev.ambient.testing.LeafSpec;
import dev.ambient.testing.LeakDetectionExtension;
import dev.ambient.testing.TestCa;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(LeakDetectionExtension.class)
class WorkloadCertificateTest {
  private static final TestCa CA = TestCa.create("cluster.local");

  @Test
  void fromPem_issuedThroughIntermediate_roundTripsKeyChainAndRoots() {
    TestCa intermediate = CA.newIntermediate();
    IssuedCertificate issued = intermediate.issue("spiffe://cluster.local/ns/default/sa/web");

    WorkloadCertificate cert = WorkloadCertificate.fromPem(issued.keyPem(), issued.chainPem(), issued.rootPem());

    assertThat(cert.privateKey()).isEqualTo(issued.privateKey());
    assertThat(cert.leaf()).isEqualTo(issued.leaf());
    assertThat(cert.intermediates()).containsExactly(intermediate.certificate());
    assertThat(cert.chain()).containsExactly(issued.leaf(), intermediate.certificate());
    assertThat(cert.trustBundle().roots()).containsExactly(CA.root());
    assertThat(cert.identity()).isEqualTo(SpiffeId.of("cluster.local", "default", "web"));
  }

  @Test
  void identity_severalUriSans_isFirstSpiffeOne() {
    IssuedCertificate issued = CA.issue(LeafSpec.uris(
        "https://example.com/not-spiffe",
        "spiffe://cluster.local/ns/first/sa/one",
        "spiffe://cluster.local/ns/second/sa/two"));

    WorkloadCertificate cert = TestIdentities.of(issued);

    assertThat(cert.identity()).isEqualTo(SpiffeId.of("cluster.local", "first", "one"));
    assertThat(WorkloadCertificate.uriSans(issued.leaf())).hasSize(3);
  }

  @Test
  void of_leafWithoutSpiffeSan_rejected() {
    IssuedCertificate issued = CA.issue(LeafSpec.uris("https://example.com/x").dnsNames("example.com"));

    assertThatThrownBy(() -> TestIdentities.of(issued))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("has no SPIFFE URI SAN");
  }

  @Test
  void refreshAt_isHalfWayThroughValidity() {
    Instant nb = Instant.now().truncatedTo(ChronoUnit.SECONDS).minus(Duration.ofHours(2));
    Instant na = nb.plus(Duration.ofHours(24));
    WorkloadCertificate cert = TestIdentities.of(
        CA.issue(LeafSpec.uris("spiffe://cluster.local/ns/a/sa/b").notBefore(nb).notAfter(na)));

    assertThat(cert.notBefore()).isEqualTo(nb);
    assertThat(cert.notAfter()).isEqualTo(na);
    assertThat(cert.refreshAt()).isEqualTo(nb.plus(Duration.ofHours(12)));
    assertThat(cert.isValidAt(nb.plusSeconds(1))).isTrue();
    assertThat(cert.isValidAt(na.plusSeconds(1))).isFalse();
    assertThat(cert.isValidAt(nb.minusSeconds(1))).isFalse();
  }

  @Test
  void pem_certificateAndKey_roundTrip() {
    IssuedCertificate issued = CA.issue(LeafSpec.uris("spiffe://cluster.local/ns/a/sa/b")
        .keyAlgorithm(LeafSpec.KeyAlgorithm.RSA_2048));

    assertThat(Pem.certificates(Pem.encode(issued.leaf()))).containsExactly(issued.leaf());
    assertThat(Pem.privateKey(Pem.encode(issued.privateKey()))).isEqualTo(issued.privateKey());
    assertThat(Pem.privateKey(issued.keyPem())).isEqualTo(issued.privateKey());
    assertThat(Pem.certificates(issued.chainPem() + issued.rootPem())).containsExactly(issued.leaf(), CA.root());
  }

  @Test
  void pem_noKeyBlock_rejectedWithReason() {
    assertThatThrownBy(() -> Pem.privateKey(CA.issue("spiffe://cluster.local/ns/a/sa/b").chainPem()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("no '-----BEGIN PRIVATE KEY-----'");
  }

  @Test
  void trustBundle_concatenatedRoots_allTrusted() {
    TestCa other = TestCa.create("other.domain");

    TrustBundle bundle = TrustBundle.fromPem(Pem.encode(CA.root()) + Pem.encode(other.root()));

    assertThat(bundle.roots()).containsExactly(CA.root(), other.root());
    assertThat(bundle.anchors()).hasSize(2);
    assertThat(TrustBundle.fromPem(bundle.toPem())).isEqualTo(bundle);
  }
}
