package dev.ambient.ztunnel.proxy.outbound;

import dev.ambient.identity.HboneTls;
import dev.ambient.identity.SpiffeId;
import dev.ambient.identity.TlsOptions;
import dev.ambient.identity.TrustBundle;
import dev.ambient.identity.WorkloadCertificate;
import dev.ambient.testing.IssuedCertificate;
import dev.ambient.testing.TestCa;
import dev.ambient.ztunnel.proxy.WorkloadCertificates;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;

/** {@link WorkloadCertificates} issuing from a {@link TestCa}, one certificate per identity. */
final class TestCertificates implements WorkloadCertificates {
  private final TestCa ca;
  private final Map<SpiffeId, HboneTls> issued = new ConcurrentHashMap<>();

  TestCertificates(TestCa ca) {
    this.ca = ca;
  }

  @Override
  public CompletableFuture<HboneTls> tls(SpiffeId identity) {
    return CompletableFuture.completedFuture(issued.computeIfAbsent(identity, id -> tls(ca, id)));
  }

  static HboneTls tls(TestCa ca, SpiffeId id) {
    IssuedCertificate c = ca.issue(id.toString());
    return HboneTls.create(
        WorkloadCertificate.of(c.privateKey(), c.leaf(), c.intermediates(), TrustBundle.of(c.root())), TlsOptions.DEFAULT);
  }
}
