package dev.ambient.ztunnel.runtime;

import dev.ambient.identity.SpiffeId;
import dev.ambient.identity.WorkloadCertificate;
import dev.ambient.xds.ca.CaClient;
import dev.ambient.xds.ca.CertificateAuthority;
import dev.ambient.xds.ca.CertificateFetcher;
import dev.ambient.xds.ca.Csr;
import dev.ambient.xds.ca.IssuedChain;
import dev.ambient.ztunnel.ZtunnelConfig;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/**
 * Where workload certificates come from (spec §8): the CA named by {@code CA_ADDRESS} (istiod or our
 * control plane), or with {@code FAKE_CA=true} a local self-signed CA — the same root for every
 * ztunnel on the machine (kept in {@code AMBIENT_FAKE_CA_DIR}, default {@code
 * <tmpdir>/ambient-fake-ca}), so two fake-CA ztunnels trust each other, as Istio's built-in test CA
 * allows.
 */
public final class CertificateSources {
  /** Overrides where the fake CA keeps its root. */
  public static final String FAKE_CA_DIR_VARIABLE = "AMBIENT_FAKE_CA_DIR";

  private CertificateSources() {}

  /** A closeable fetcher: the CA client holds a gRPC channel. */
  public interface Source extends CertificateFetcher, AutoCloseable {
    @Override
    void close();
  }

  /** The fetcher the configuration asks for. */
  public static Source create(ZtunnelConfig config, Map<String, String> env) {
    if (config.fakeCa()) {
      Path dir = Path.of(env.getOrDefault(FAKE_CA_DIR_VARIABLE,
          Path.of(System.getProperty("java.io.tmpdir"), "ambient-fake-ca").toString()));
      return fake(CertificateAuthority.loadOrCreate(dir, config.identity().trustDomain(), Clock.systemUTC()),
          config.secretTtl());
    }
    ZtunnelConfig.ControlPlane ca = config.ca();
    CaClient.Builder b = CaClient.builder()
        .address(ca.address().orElseThrow(() -> new IllegalStateException(
            "CA_ADDRESS is empty and FAKE_CA is not set: no way to get workload certificates")))
        .rootCertFile(Path.of(ca.rootCa()))
        .tokenSource(config.tokenSource())
        .clusterId(config.identity().clusterId())
        .ttl(config.secretTtl())
        .sharedMode(config.proxyMode() == ZtunnelConfig.ProxyMode.SHARED);
    ca.altHostname().ifPresent(b::authorityOverride);
    ca.headers().forEach(b::extraHeader);
    CaClient client = b.build();
    return new Source() {
      @Override
      public CompletableFuture<WorkloadCertificate> fetch(SpiffeId identity) {
        return client.fetch(identity);
      }

      @Override
      public void close() {
        client.close();
      }

      @Override
      public String toString() {
        return client.toString();
      }
    };
  }

  /** Signs locally with {@code authority}: a fresh key and CSR per request, as with a real CA. */
  static Source fake(CertificateAuthority authority, Duration ttl) {
    return new Source() {
      @Override
      public CompletableFuture<WorkloadCertificate> fetch(SpiffeId identity) {
        try {
          Csr csr = Csr.generate(identity);
          IssuedChain chain = authority.sign(Csr.parse(csr.pem()), identity, ttl);
          return CompletableFuture.completedFuture(
              WorkloadCertificate.of(csr.privateKey(), chain.leaf(), chain.intermediates(), chain.roots()));
        } catch (RuntimeException e) {
          return CompletableFuture.failedFuture(e);
        }
      }

      @Override
      public void close() {}

      @Override
      public String toString() {
        return "FakeCa[" + authority + "]";
      }
    };
  }
}
