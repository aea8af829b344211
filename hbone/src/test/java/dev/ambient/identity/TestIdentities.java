package dev.ambient.identity;

import dev.ambient.testing.IssuedCertificate;
import dev.ambient.testing.TestCa;

/** Workload certificates and {@link HboneTls} instances minted by a {@link TestCa}, for tests in any package. */
public final class TestIdentities {
  private TestIdentities() {}

  /** A certificate for {@code spiffe://<ca trust domain>/ns/<namespace>/sa/<serviceAccount>}. */
  public static WorkloadCertificate workload(TestCa ca, String namespace, String serviceAccount) {
    return of(ca.issue(SpiffeId.of(ca.trustDomain(), namespace, serviceAccount).toString()));
  }

  /** Wraps an issued certificate; its root becomes the trust bundle. */
  public static WorkloadCertificate of(IssuedCertificate c) {
    return WorkloadCertificate.of(c.privateKey(), c.leaf(), c.intermediates(), TrustBundle.of(c.root()));
  }

  /** {@link HboneTls} with {@link TlsOptions#DEFAULT} for a fresh certificate of {@code ns}/{@code sa}. */
  public static HboneTls tls(TestCa ca, String namespace, String serviceAccount) {
    return HboneTls.create(workload(ca, namespace, serviceAccount), TlsOptions.DEFAULT);
  }

  /** The SPIFFE id of {@code ns}/{@code sa} in the CA's trust domain. */
  public static SpiffeId id(TestCa ca, String namespace, String serviceAccount) {
    return SpiffeId.of(ca.trustDomain(), namespace, serviceAccount);
  }
}
