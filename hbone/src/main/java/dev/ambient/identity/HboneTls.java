package dev.ambient.identity;

import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.ssl.SslHandler;
import java.util.Collection;
import java.util.Optional;
import javax.net.ssl.SSLSession;

/**
 * The TLS side of HBONE for one workload certificate: builds the server and client
 * {@link SslHandler}s with the spec §4.3 rules. Immutable; build a new one when the certificate
 * rotates.
 *
 * <p>STUB: being implemented (see issue 2 §2).
 */
public final class HboneTls {
  private final WorkloadCertificate certificate;
  private final TlsOptions options;

  private HboneTls(WorkloadCertificate certificate, TlsOptions options) {
    this.certificate = certificate;
    this.options = options;
  }

  public static HboneTls create(WorkloadCertificate certificate, TlsOptions options) {
    return new HboneTls(certificate, options);
  }

  public WorkloadCertificate certificate() {
    return certificate;
  }

  public TlsOptions options() {
    return options;
  }

  /** Whether BoringSSL (netty-tcnative) is in use rather than the JDK provider. */
  public boolean boringSsl() {
    throw new UnsupportedOperationException("stub");
  }

  /**
   * A server-side handler: client certificate required, chain verified against this certificate's
   * trust bundle, and at least one SPIFFE URI SAN in this certificate's trust domain.
   */
  public SslHandler newServerHandler(ByteBufAllocator alloc) {
    throw new UnsupportedOperationException("stub");
  }

  /**
   * A client-side handler: no SNI, no resumption, ALPN h2; the server chain is verified against the
   * trust bundle and its SPIFFE SAN must be one of {@code expectedServerIdentities}.
   */
  public SslHandler newClientHandler(ByteBufAllocator alloc, Collection<SpiffeId> expectedServerIdentities) {
    throw new UnsupportedOperationException("stub");
  }

  /** The peer's identity: the first SPIFFE URI SAN of its leaf certificate. */
  public static Optional<SpiffeId> peerIdentity(SSLSession session) {
    throw new UnsupportedOperationException("stub");
  }
}
