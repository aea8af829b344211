package dev.ambient.ztunnel.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ambient.identity.HboneTls;
import dev.ambient.identity.SpiffeId;
import dev.ambient.identity.TlsOptions;
import dev.ambient.identity.TrustBundle;
import dev.ambient.identity.WorkloadCertificate;
import dev.ambient.testing.IssuedCertificate;
import dev.ambient.testing.LeafSpec;
import dev.ambient.testing.TestCa;
import dev.ambient.xds.ca.SecretManager;
import dev.ambient.ztunnel.ZtunnelConfig;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** {@link SecretManagerCertificates} over a real {@link SecretManager} with a fake CA fetcher. */
class SecretManagerCertificatesTest {
  private static final TestCa CA = TestCa.create("cluster.local");
  private static final SpiffeId ID = SpiffeId.of("cluster.local", "default", "server");

  private final ScheduledExecutorService executor = Executors.newSingleThreadScheduledExecutor();
  private final List<WorkloadCertificate> issued = new CopyOnWriteArrayList<>();
  /** Lifetime of the next certificates issued. */
  private volatile Duration lifetime = Duration.ofHours(24);
  private final SecretManager secrets = SecretManager.builder().executor(executor).fetcher(id -> {
    Instant now = Instant.now();
    IssuedCertificate c = CA.issue(LeafSpec.uris(id.toString()).notBefore(now.minusSeconds(10)).notAfter(now.plus(lifetime)));
    WorkloadCertificate w = WorkloadCertificate.of(c.privateKey(), c.leaf(), c.intermediates(), TrustBundle.of(c.root()));
    issued.add(w);
    return CompletableFuture.completedFuture(w);
  }).build();
  private final SecretManagerCertificates certificates = new SecretManagerCertificates(secrets, TlsOptions.DEFAULT);

  @AfterEach
  void stop() {
    secrets.close();
    executor.shutdownNow();
  }

  private HboneTls tls() throws Exception {
    return certificates.tls(ID).get(5, TimeUnit.SECONDS);
  }

  @Test
  void sameCertificate_reusesTheHboneTls() throws Exception {
    HboneTls first = tls();
    assertThat(first.certificate().identity()).isEqualTo(ID);
    assertThat(tls()).isSameAs(first);
    assertThat(issued).hasSize(1);
  }

  @Test
  void afterRotation_aNewHboneTlsWrapsTheNewCertificate() throws Exception {
    lifetime = Duration.ofSeconds(12); // valid from now-10s: refresh due at about now+1s
    HboneTls first = tls();
    lifetime = Duration.ofHours(24);
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (issued.size() < 2 && System.nanoTime() < deadline) {
      Thread.sleep(50);
    }
    assertThat(issued).as("the manager refreshed at half-life").hasSize(2);
    HboneTls rotated = tls();
    assertThat(rotated).isNotSameAs(first);
    assertThat(rotated.certificate()).isSameAs(issued.get(1));
    assertThat(tls()).isSameAs(rotated);
  }

  @Test
  void prefetchAndForget_delegateToTheManager() throws Exception {
    certificates.prefetch(ID);
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
    while (issued.isEmpty() && System.nanoTime() < deadline) {
      Thread.sleep(20);
    }
    assertThat(issued).as("prefetch fetched").hasSize(1);
    HboneTls first = tls();
    assertThat(issued).hasSize(1);
    certificates.forget(ID);
    HboneTls again = tls();
    assertThat(issued).as("forgotten: fetched anew").hasSize(2);
    assertThat(again).isNotSameAs(first);
  }

  @Test
  void options_followTheConfig() {
    assertThat(SecretManagerCertificates.options(
        new ZtunnelConfig.Tls(true, ZtunnelConfig.CompliancePolicy.PQC, Optional.empty())))
        .isEqualTo(new TlsOptions(true, true, true));
    assertThat(SecretManagerCertificates.options(
        new ZtunnelConfig.Tls(false, ZtunnelConfig.CompliancePolicy.NONE, Optional.empty())))
        .isEqualTo(new TlsOptions(false, false, true));
  }
}
