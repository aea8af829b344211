package dev.ambient.ztunnel.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ambient.identity.SpiffeId;
import dev.ambient.identity.WorkloadCertificate;
import dev.ambient.xds.ca.CertificateAuthority;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CertificateSourcesTest {
  @Test
  void fakeCaIssuesForTheRequestedIdentityAndSharesItsRoot(@TempDir Path dir) throws Exception {
    SpiffeId id = SpiffeId.parse("spiffe://cluster.local/ns/default/sa/client");
    var first = CertificateSources.fake(
        CertificateAuthority.loadOrCreate(dir, "cluster.local", Clock.systemUTC()), Duration.ofHours(1));
    var second = CertificateSources.fake(
        CertificateAuthority.loadOrCreate(dir, "cluster.local", Clock.systemUTC()), Duration.ofHours(1));
    WorkloadCertificate a = first.fetch(id).get();
    WorkloadCertificate b = second.fetch(id).get();
    assertThat(a.identity()).isEqualTo(id);
    assertThat(b.identity()).isEqualTo(id);
    assertThat(a.leaf().getSerialNumber()).isNotEqualTo(b.leaf().getSerialNumber());
    assertThat(a.trustBundle().roots()).isEqualTo(b.trustBundle().roots());
    a.leaf().verify(first.equals(second) ? null : a.trustBundle().roots().getFirst().getPublicKey());
    assertThat(Duration.between(a.leaf().getNotBefore().toInstant(), a.leaf().getNotAfter().toInstant()))
        .isLessThanOrEqualTo(Duration.ofHours(1).plusMinutes(2));
  }
}
