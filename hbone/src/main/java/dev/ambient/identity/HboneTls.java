package dev.ambient.identity;

import static java.util.Objects.requireNonNull;

import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.handler.ssl.ApplicationProtocolConfig;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.IdentityCipherSuiteFilter;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.OpenSslContextOption;
import io.netty.handler.ssl.OpenSslSessionContext;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslProvider;
import java.lang.reflect.Method;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The TLS side of HBONE for one workload certificate: builds the server and client
 * {@link SslHandler}s with the spec §4.3 rules. Immutable; build a new one when the certificate
 * rotates.
 *
 * <h2>Rules</h2>
 * TLS 1.3 only (plus TLS 1.2 with ECDHE AES-GCM suites when {@link TlsOptions#tls12Enabled()});
 * suites {@code TLS_AES_256_GCM_SHA384} and {@code TLS_AES_128_GCM_SHA256}; groups X25519 and
 * P-256, with X25519MLKEM768 first when {@link TlsOptions#offerPostQuantum()} and BoringSSL has it;
 * ALPN exactly {@code h2}. Clients send no SNI and keep no session cache; servers require a client
 * certificate. Peers are verified by {@link SpiffeTrustManager} (PKIX against the trust bundle,
 * EKU, SPIFFE SAN rules); a refusal fails the handshake with a {@link PeerVerificationException}
 * in the cause chain.
 *
 * <h2>Enforcement after the handshake</h2>
 * BoringSSL cannot restrict the TLS 1.3 suites (it always enables ChaCha20) and Netty's OpenSSL
 * ALPN support cannot send a fatal alert when there is no common protocol, so each handler also
 * checks the negotiated protocol, suite and ALPN when its handshake completes and closes the
 * channel if any is off-policy.
 *
 * <h2>Threading</h2>
 * Thread-safe. Both {@link SslContext}s are built once, in {@link #create}. Per-connection expected
 * identities live in a map keyed by the client {@link SSLEngine}; the entry is removed when that
 * handler's handshake completes (successfully or not, including when the channel closes first), so
 * a client handler must be added to a pipeline.
 */
public final class HboneTls {
  private static final Logger log = LoggerFactory.getLogger(HboneTls.class);
  private static final AtomicBoolean jdkFallbackWarned = new AtomicBoolean();

  static final String TLS13 = "TLSv1.3";
  static final String TLS12 = "TLSv1.2";
  static final List<String> TLS13_CIPHER_SUITES = List.of("TLS_AES_256_GCM_SHA384", "TLS_AES_128_GCM_SHA256");
  static final List<String> TLS12_CIPHER_SUITES = List.of(
      "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
      "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
      "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
      "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256");
  static final String POST_QUANTUM_GROUP = "X25519MLKEM768";
  static final List<String> GROUPS = List.of("X25519", "P-256");
  private static final List<String> JDK_GROUPS = List.of("x25519", "secp256r1");
  private static final List<String> JDK_POST_QUANTUM_GROUPS = List.of("X25519MLKEM768");

  private final WorkloadCertificate certificate;
  private final TlsOptions options;
  private final SslProvider provider;
  private final List<String> groups;
  private final Set<String> protocols;
  private final Set<String> cipherSuites;
  private final SslContext serverContext;
  private final SslContext clientContext;
  private final Map<SSLEngine, Set<SpiffeId>> pendingExpectations = new ConcurrentHashMap<>();

  private HboneTls(WorkloadCertificate certificate, TlsOptions options, SslProvider provider) {
    this.certificate = requireNonNull(certificate, "certificate");
    this.options = requireNonNull(options, "options");
    this.provider = provider;
    List<String> protocols = new ArrayList<>(List.of(TLS13));
    List<String> suites = new ArrayList<>(TLS13_CIPHER_SUITES);
    if (options.tls12Enabled()) {
      protocols.add(TLS12);
      suites.addAll(TLS12_CIPHER_SUITES);
    }
    this.protocols = Set.copyOf(protocols);
    this.cipherSuites = Set.copyOf(suites);
    Clock clock = Clock.systemUTC();
    SpiffeTrustManager serverTrust =
        new SpiffeTrustManager(SpiffeTrustManager.Role.SERVER, certificate, e -> null, clock);
    SpiffeTrustManager clientTrust =
        new SpiffeTrustManager(SpiffeTrustManager.Role.CLIENT, certificate, this::expectedFor, clock);

    List<String> groups = new ArrayList<>();
    if (options.offerPostQuantum()) {
      groups.add(POST_QUANTUM_GROUP);
    }
    groups.addAll(GROUPS);
    SslContext server;
    try {
      server = build(true, serverTrust, protocols, suites, groups);
    } catch (SSLException | RuntimeException e) {
      if (!options.offerPostQuantum() || provider != SslProvider.OPENSSL) {
        throw new IllegalStateException("cannot build the HBONE server TLS context: " + e.getMessage(), e);
      }
      log.info("{} does not support the post-quantum group {}; offering only {} ({})",
          OpenSsl.versionString(), POST_QUANTUM_GROUP, GROUPS, e.getMessage());
      groups.remove(POST_QUANTUM_GROUP);
      try {
        server = build(true, serverTrust, protocols, suites, groups);
      } catch (SSLException e2) {
        throw new IllegalStateException("cannot build the HBONE server TLS context: " + e2.getMessage(), e2);
      }
    }
    this.groups = List.copyOf(groups);
    this.serverContext = server;
    try {
      this.clientContext = build(false, clientTrust, protocols, suites, groups);
    } catch (SSLException e) {
      throw new IllegalStateException("cannot build the HBONE client TLS context: " + e.getMessage(), e);
    }
  }

  /**
   * Builds the TLS contexts for {@code certificate}.
   *
   * @throws IllegalStateException when BoringSSL is unavailable and {@link TlsOptions#allowJdkFallback()}
   *     is false, or a context cannot be built
   */
  public static HboneTls create(WorkloadCertificate certificate, TlsOptions options) {
    return new HboneTls(certificate, options, chooseProvider(options));
  }

  /** For tests: builds with the given provider regardless of availability. */
  static HboneTls create(WorkloadCertificate certificate, TlsOptions options, SslProvider provider) {
    return new HboneTls(certificate, options, provider);
  }

  private static SslProvider chooseProvider(TlsOptions options) {
    if (OpenSsl.isAvailable()) {
      return SslProvider.OPENSSL;
    }
    Throwable cause = OpenSsl.unavailabilityCause();
    if (!options.allowJdkFallback()) {
      throw new IllegalStateException(
          "BoringSSL (netty-tcnative-boringssl-static) cannot be loaded and the JDK TLS fallback is disabled: "
              + cause, cause);
    }
    if (jdkFallbackWarned.compareAndSet(false, true)) {
      log.warn("BoringSSL (netty-tcnative-boringssl-static) cannot be loaded ({}); HBONE TLS falls back to the JDK "
          + "provider, which is slower. Check that the native library matches this OS/architecture.",
          String.valueOf(cause));
    }
    return SslProvider.JDK;
  }

  private SslContext build(
      boolean server, SpiffeTrustManager trust, List<String> protocols, List<String> suites, List<String> groups)
      throws SSLException {
    List<X509Certificate> chain = certificate.chain();
    SslContextBuilder b = server
        ? SslContextBuilder.forServer(certificate.privateKey(), chain).clientAuth(ClientAuth.REQUIRE)
        : SslContextBuilder.forClient().keyManager(certificate.privateKey(), chain);
    b.sslProvider(provider)
        .trustManager(trust)
        .protocols(protocols)
        .ciphers(suites, IdentityCipherSuiteFilter.INSTANCE)
        // OpenSSL only supports NO_ADVERTISE/ACCEPT; the h2 requirement is enforced after the handshake.
        .applicationProtocolConfig(new ApplicationProtocolConfig(
            ApplicationProtocolConfig.Protocol.ALPN,
            ApplicationProtocolConfig.SelectorFailureBehavior.NO_ADVERTISE,
            ApplicationProtocolConfig.SelectedListenerFailureBehavior.ACCEPT,
            ApplicationProtocolNames.HTTP_2))
        .sessionCacheSize(1);
    if (provider == SslProvider.OPENSSL) {
      b.option(OpenSslContextOption.GROUPS, groups.toArray(String[]::new));
    }
    SslContext ctx = b.build();
    if (ctx.sessionContext() instanceof OpenSslSessionContext sessions) {
      // No resumption (spec §4.3); without a peer host the client could not resume anyway.
      sessions.setSessionCacheEnabled(false);
    }
    return ctx;
  }

  public WorkloadCertificate certificate() {
    return certificate;
  }

  public TlsOptions options() {
    return options;
  }

  /** Whether BoringSSL (netty-tcnative) is in use rather than the JDK provider. */
  public boolean boringSsl() {
    return provider == SslProvider.OPENSSL;
  }

  /** The provider in use. */
  public SslProvider provider() {
    return provider;
  }

  /** The key-exchange groups offered, in preference order. */
  public List<String> groups() {
    return groups;
  }

  /**
   * A server-side handler: client certificate required, chain verified against this certificate's
   * trust bundle, and at least one SPIFFE URI SAN in this certificate's trust domain.
   */
  public SslHandler newServerHandler(ByteBufAllocator alloc) {
    SslHandler handler = serverContext.newHandler(requireNonNull(alloc, "alloc"));
    configureJdkGroups(handler.engine());
    handler.handshakeFuture().addListener(f -> {
      if (f.isSuccess()) {
        enforceNegotiated(handler, (Channel) f.getNow(), "client");
      } else {
        logFailure("client", f.cause());
      }
    });
    return handler;
  }

  /**
   * A client-side handler: no SNI, no resumption, ALPN h2; the server chain is verified against the
   * trust bundle and its SPIFFE SAN must be one of {@code expectedServerIdentities}.
   */
  public SslHandler newClientHandler(ByteBufAllocator alloc, Collection<SpiffeId> expectedServerIdentities) {
    requireNonNull(alloc, "alloc");
    Set<SpiffeId> expected = Set.copyOf(requireNonNull(expectedServerIdentities, "expectedServerIdentities"));
    // No peer host: BoringSSL then sends no server_name and the client session cache has no key.
    SslHandler handler = clientContext.newHandler(alloc);
    SSLEngine engine = handler.engine();
    configureJdkGroups(engine);
    List<SSLEngine> keys = engineKeys(engine);
    keys.forEach(k -> pendingExpectations.put(k, expected));
    handler.handshakeFuture().addListener(f -> {
      keys.forEach(pendingExpectations::remove);
      if (f.isSuccess()) {
        enforceNegotiated(handler, (Channel) f.getNow(), "server");
      } else {
        logFailure("server", f.cause());
      }
    });
    return handler;
  }

  /** Connections whose client handshake has not completed yet (for tests: must drain to zero). */
  int pendingClientHandshakes() {
    return pendingExpectations.size();
  }

  private @Nullable Set<SpiffeId> expectedFor(SSLEngine engine) {
    return pendingExpectations.get(engine);
  }

  /** The peer's identity: the first SPIFFE URI SAN of its leaf certificate. */
  public static Optional<SpiffeId> peerIdentity(SSLSession session) {
    requireNonNull(session, "session");
    Certificate[] peer;
    try {
      peer = session.getPeerCertificates();
    } catch (SSLPeerUnverifiedException e) {
      return Optional.empty();
    }
    if (peer == null || peer.length == 0 || !(peer[0] instanceof X509Certificate leaf)) {
      return Optional.empty();
    }
    return WorkloadCertificate.firstSpiffeId(leaf);
  }

  /**
   * Debug detail only: the owner of the channel (HboneServer, HboneClient) logs the refusal once,
   * with the peer address and the reason from the cause chain.
   */
  private static void logFailure(String peerRole, @Nullable Throwable cause) {
    log.debug("HBONE TLS handshake with {} failed: {}", peerRole, String.valueOf(cause));
  }

  private void enforceNegotiated(SslHandler handler, Channel channel, String peerRole) {
    SSLSession session = handler.engine().getSession();
    String alpn = handler.applicationProtocol();
    String problem = null;
    if (!ApplicationProtocolNames.HTTP_2.equals(alpn)) {
      problem = "ALPN negotiated " + alpn + ", HBONE requires h2";
    } else if (!protocols.contains(session.getProtocol())) {
      problem = "protocol " + session.getProtocol() + " is not one of " + protocols;
    } else if (!cipherSuites.contains(session.getCipherSuite())) {
      problem = "cipher suite " + session.getCipherSuite() + " is not one of " + cipherSuites;
    }
    if (problem != null) {
      log.warn("closing HBONE connection to {} {}: {}", peerRole, channel.remoteAddress(), problem);
      channel.close();
    }
  }

  /** Netty's OpenSSL groups option has no JDK equivalent; set the groups on each JDK engine instead. */
  private void configureJdkGroups(SSLEngine engine) {
    if (provider != SslProvider.JDK) {
      return;
    }
    SSLParameters params = engine.getSSLParameters();
    List<String> named = new ArrayList<>();
    if (options.offerPostQuantum()) {
      named.addAll(JDK_POST_QUANTUM_GROUPS);
    }
    named.addAll(JDK_GROUPS);
    params.setNamedGroups(named.toArray(String[]::new));
    engine.setSSLParameters(params);
  }

  /**
   * The engines a trust manager may be called with for this handler's engine: with the JDK provider
   * Netty wraps the JDK engine (for ALPN), and the JDK calls the trust manager with the inner one.
   */
  private static List<SSLEngine> engineKeys(SSLEngine engine) {
    List<SSLEngine> keys = new ArrayList<>(2);
    keys.add(engine);
    SSLEngine current = engine;
    for (int i = 0; i < 3; i++) {
      SSLEngine inner = wrapped(current);
      if (inner == null || keys.contains(inner)) {
        break;
      }
      keys.add(inner);
      current = inner;
    }
    return keys;
  }

  private static @Nullable SSLEngine wrapped(SSLEngine engine) {
    try {
      Method m = engine.getClass().getMethod("getWrappedEngine");
      m.setAccessible(true);
      return m.invoke(engine) instanceof SSLEngine inner ? inner : null;
    } catch (ReflectiveOperationException | RuntimeException e) {
      return null;
    }
  }

  @Override
  public String toString() {
    return "HboneTls{" + certificate.identity() + ", provider=" + provider + ", groups=" + groups + "}";
  }
}
