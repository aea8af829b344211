package dev.ambient.ztunnel.proxy;

import dev.ambient.identity.HboneTls;
import dev.ambient.identity.SpiffeId;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;

/**
 * TLS material per workload identity, for the HBONE client (outbound, source identity) and server
 * (inbound, the local workload's identity). Backed by the CA client's SecretManager in a running
 * ztunnel; the returned {@link HboneTls} follows rotation (a new one after each renewal).
 */
public interface WorkloadCertificates {
  /** The TLS context for {@code identity}; completes exceptionally when no certificate can be had. */
  CompletableFuture<HboneTls> tls(SpiffeId identity);

  /**
   * The valid certificate already in hand for {@code identity}, without waiting (a TLS handshake
   * that cannot wait uses it); empty when there is none or the implementation cannot tell.
   */
  default Optional<HboneTls> current(SpiffeId identity) {
    return Optional.empty();
  }

  /** Starts fetching ahead of need (a local workload appeared). */
  default void prefetch(SpiffeId identity) {}

  /** No local workload uses {@code identity} any more. */
  default void forget(SpiffeId identity) {}
}
