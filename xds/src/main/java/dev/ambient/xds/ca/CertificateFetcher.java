package dev.ambient.xds.ca;

import dev.ambient.identity.SpiffeId;
import dev.ambient.identity.WorkloadCertificate;
import java.util.concurrent.CompletableFuture;

/** Obtains a fresh certificate for an identity: {@link CaClient}, or a fake in tests. */
@FunctionalInterface
public interface CertificateFetcher {
  /**
   * Starts one CSR round trip. The future fails with a {@link CaException} (any thread may complete it).
   */
  CompletableFuture<WorkloadCertificate> fetch(SpiffeId identity);
}
