package dev.ambient.ztunnel.proxy;

import static java.util.Objects.requireNonNull;

import dev.ambient.identity.HboneTls;
import dev.ambient.identity.SpiffeId;
import dev.ambient.identity.TlsOptions;
import dev.ambient.identity.WorkloadCertificate;
import dev.ambient.xds.ca.SecretManager;
import dev.ambient.ztunnel.ZtunnelConfig;
import java.time.Instant;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;

/**
 * {@link WorkloadCertificates} backed by the CA client's {@link SecretManager}: one {@link HboneTls}
 * per issued certificate, built when a certificate is first seen and reused until the manager
 * hands out a different one (rotation), so SSL contexts are not rebuilt per connection.
 */
public final class SecretManagerCertificates implements WorkloadCertificates {
  private final SecretManager secrets;
  private final TlsOptions options;
  private final ConcurrentMap<SpiffeId, HboneTls> cache = new ConcurrentHashMap<>();

  public SecretManagerCertificates(SecretManager secrets, TlsOptions options) {
    this.secrets = requireNonNull(secrets, "secrets");
    this.options = requireNonNull(options, "options");
  }

  /** The HBONE TLS options of {@code tls} ({@code TLS12_ENABLED}, {@code COMPLIANCE_POLICY=pqc}). */
  public static TlsOptions options(ZtunnelConfig.Tls tls) {
    return new TlsOptions(tls.tls12Enabled(), tls.compliancePolicy() == ZtunnelConfig.CompliancePolicy.PQC,
        TlsOptions.DEFAULT.allowJdkFallback());
  }

  @Override
  public CompletableFuture<HboneTls> tls(SpiffeId identity) {
    requireNonNull(identity, "identity");
    return secrets.fetchCertificate(identity).thenApply(cert -> tlsFor(identity, cert));
  }

  @Override
  public Optional<HboneTls> current(SpiffeId identity) {
    return secrets.states().get(identity) instanceof SecretManager.Available a
        && a.certificate().isValidAt(Instant.now())
        ? Optional.of(tlsFor(identity, a.certificate()))
        : Optional.empty();
  }

  /** The cached TLS when it wraps {@code cert}, else a new one (replacing the old). */
  private HboneTls tlsFor(SpiffeId identity, WorkloadCertificate cert) {
    return cache.compute(identity, (id, current) ->
        current != null && current.certificate() == cert ? current : HboneTls.create(cert, options));
  }

  @Override
  public void prefetch(SpiffeId identity) {
    secrets.prefetch(identity);
  }

  @Override
  public void forget(SpiffeId identity) {
    cache.remove(identity);
    secrets.forget(identity);
  }
}
