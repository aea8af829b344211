package dev.ambient.identity;

import dev.ambient.identity.PeerVerificationException.Reason;
import io.netty.handler.ssl.OpenSslCertificateException;
import io.netty.handler.ssl.ReferenceCountedOpenSslEngine;
import io.netty.internal.tcnative.CertificateVerifier;
import java.net.Socket;
import java.security.GeneralSecurityException;
import java.security.cert.CertPathValidator;
import java.security.cert.CertPathValidatorException;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.CertificateParsingException;
import java.security.cert.PKIXParameters;
import java.security.cert.TrustAnchor;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Date;
import java.util.List;
import java.util.Set;
import java.util.function.Function;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedTrustManager;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Verifies HBONE peers (spec §4.3, §8.6) in place of hostname verification: the chain by PKIX
 * against the trust bundle (no revocation), the leaf's extended key usage, then the SPIFFE rule of
 * the role: a server requires a client in its own trust domain; a client requires the server to
 * present one of the identities expected for this connection, looked up by {@link SSLEngine}.
 *
 * <p>Refusals are logged at INFO and thrown as {@link PeerVerificationException}.
 */
final class SpiffeTrustManager extends X509ExtendedTrustManager {
  private static final Logger log = LoggerFactory.getLogger(SpiffeTrustManager.class);
  private static final String EKU_SERVER_AUTH = "1.3.6.1.5.5.7.3.1";
  private static final String EKU_CLIENT_AUTH = "1.3.6.1.5.5.7.3.2";
  private static final String EKU_ANY = "2.5.29.37.0";
  private static final X509Certificate[] NO_ISSUERS = new X509Certificate[0];

  /** Which side's peer is verified. */
  enum Role {
    /** Runs on the server, verifies client certificates. */
    SERVER,
    /** Runs on the client, verifies server certificates. */
    CLIENT
  }

  private final Role role;
  private final TrustBundle trustBundle;
  private final String localTrustDomain;
  private final Function<SSLEngine, @Nullable Set<SpiffeId>> expectedIdentities;
  private final Clock clock;

  SpiffeTrustManager(
      Role role, WorkloadCertificate local, Function<SSLEngine, @Nullable Set<SpiffeId>> expectedIdentities,
      Clock clock) {
    this.role = role;
    this.trustBundle = local.trustBundle();
    this.localTrustDomain = local.identity().trustDomain();
    this.expectedIdentities = expectedIdentities;
    this.clock = clock;
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
      throws CertificateException {
    try {
      verifyClient(chain);
    } catch (PeerVerificationException e) {
      throw forEngine(engine, e);
    }
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket)
      throws CertificateException {
    verifyClient(chain);
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
    verifyClient(chain);
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
      throws CertificateException {
    try {
      verifyServer(chain, expectedIdentities.apply(engine));
    } catch (PeerVerificationException e) {
      throw forEngine(engine, e);
    }
  }

  /**
   * BoringSSL turns a plain {@link CertificateException} from a Java verifier into an
   * {@code internal_error} alert, which tells the peer nothing. An
   * {@link OpenSslCertificateException} carries an X.509 error code instead, from which BoringSSL
   * picks the matching alert (certificate_expired, unknown_ca, bad_certificate, ...). The
   * {@link PeerVerificationException} stays the cause, so local callers still see the reason.
   */
  private static CertificateException forEngine(SSLEngine engine, PeerVerificationException e) {
    if (!(engine instanceof ReferenceCountedOpenSslEngine)) {
      return e; // the JDK provider maps exceptions to alerts itself
    }
    int code = switch (e.reason()) {
      case EXPIRED -> CertificateVerifier.X509_V_ERR_CERT_HAS_EXPIRED;
      case NOT_YET_VALID -> CertificateVerifier.X509_V_ERR_CERT_NOT_YET_VALID;
      case UNTRUSTED_CHAIN -> CertificateVerifier.X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY;
      case MISSING_EKU -> CertificateVerifier.X509_V_ERR_INVALID_PURPOSE;
      case NO_CERTIFICATE, NO_SPIFFE_SAN, WRONG_TRUST_DOMAIN, SAN_MISMATCH -> CertificateVerifier.X509_V_ERR_CERT_REJECTED;
    };
    OpenSslCertificateException wrapped = new OpenSslCertificateException(e.getMessage(), code);
    wrapped.initCause(e);
    return wrapped;
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket)
      throws CertificateException {
    verifyServer(chain, null);
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
    verifyServer(chain, null);
  }

  @Override
  public X509Certificate[] getAcceptedIssuers() {
    // Deliberately empty: advertising the roots as certificate_authorities would make a client whose
    // certificate chains elsewhere send no certificate at all, hiding the real reason (untrusted chain).
    return NO_ISSUERS;
  }

  private void verifyClient(X509Certificate[] chain) throws CertificateException {
    if (role != Role.SERVER) {
      throw refuse(new PeerVerificationException(Reason.UNTRUSTED_CHAIN, "client certificates are not verified here"));
    }
    X509Certificate leaf = verifyChain(chain, EKU_CLIENT_AUTH, "clientAuth");
    List<SpiffeId> ids = spiffeIds(leaf);
    if (ids.stream().noneMatch(id -> id.trustDomain().equals(localTrustDomain))) {
      throw refuse(new PeerVerificationException(Reason.WRONG_TRUST_DOMAIN,
          "client identity " + ids + " is in trust domain "
              + ids.stream().map(SpiffeId::trustDomain).distinct().toList()
              + ", server trust domain is '" + localTrustDomain + "'"));
    }
  }

  private void verifyServer(X509Certificate[] chain, @Nullable Set<SpiffeId> expected) throws CertificateException {
    if (role != Role.CLIENT) {
      throw refuse(new PeerVerificationException(Reason.UNTRUSTED_CHAIN, "server certificates are not verified here"));
    }
    X509Certificate leaf = verifyChain(chain, EKU_SERVER_AUTH, "serverAuth");
    List<SpiffeId> ids = spiffeIds(leaf);
    if (expected == null || expected.isEmpty()) {
      throw refuse(new PeerVerificationException(Reason.SAN_MISMATCH,
          "server presented " + ids + " but no expected identities are registered for this connection"));
    }
    if (ids.stream().noneMatch(expected::contains)) {
      throw refuse(new PeerVerificationException(Reason.SAN_MISMATCH,
          "server presented " + ids + ", expected one of " + expected.stream().map(SpiffeId::toString).sorted().toList()));
    }
  }

  /** Validity, PKIX chain and EKU; returns the leaf. */
  private X509Certificate verifyChain(X509Certificate @Nullable [] chain, String ekuOid, String ekuName)
      throws PeerVerificationException {
    if (chain == null || chain.length == 0) {
      throw refuse(new PeerVerificationException(Reason.NO_CERTIFICATE, "peer presented no certificate"));
    }
    X509Certificate leaf = chain[0];
    Instant now = clock.instant();
    if (now.isAfter(leaf.getNotAfter().toInstant())) {
      throw refuse(new PeerVerificationException(Reason.EXPIRED,
          "certificate " + describe(leaf) + " expired at " + leaf.getNotAfter().toInstant() + " (now " + now + ")"));
    }
    if (now.isBefore(leaf.getNotBefore().toInstant())) {
      throw refuse(new PeerVerificationException(Reason.NOT_YET_VALID,
          "certificate " + describe(leaf) + " is not valid before " + leaf.getNotBefore().toInstant()
              + " (now " + now + ")"));
    }
    List<X509Certificate> path = new ArrayList<>(Arrays.asList(chain));
    // A peer may append the root itself; PKIX wants the path without its anchor.
    Set<TrustAnchor> anchors = trustBundle.anchors();
    while (path.size() > 1 && trustBundle.roots().contains(path.getLast())) {
      path.removeLast();
    }
    try {
      PKIXParameters params = new PKIXParameters(anchors);
      params.setRevocationEnabled(false);
      params.setDate(Date.from(now));
      CertPathValidator.getInstance("PKIX")
          .validate(CertificateFactory.getInstance("X.509").generateCertPath(path), params);
    } catch (CertPathValidatorException e) {
      throw refuse(new PeerVerificationException(Reason.UNTRUSTED_CHAIN,
          "certificate " + describe(leaf) + " issued by '" + path.getLast().getIssuerX500Principal().getName()
              + "' does not chain to the trust bundle " + trustBundle + ": " + e.getMessage(), e));
    } catch (GeneralSecurityException e) {
      throw refuse(new PeerVerificationException(Reason.UNTRUSTED_CHAIN,
          "cannot validate the chain of " + describe(leaf) + ": " + e.getMessage(), e));
    }
    List<String> ekus;
    try {
      ekus = leaf.getExtendedKeyUsage();
    } catch (CertificateParsingException e) {
      throw refuse(new PeerVerificationException(Reason.MISSING_EKU, "unparseable extended key usage", e));
    }
    if (ekus != null && !ekus.contains(ekuOid) && !ekus.contains(EKU_ANY)) {
      throw refuse(new PeerVerificationException(Reason.MISSING_EKU,
          "certificate " + describe(leaf) + " lacks extended key usage " + ekuName + " (has " + ekus + ")"));
    }
    return leaf;
  }

  private PeerVerificationException refuse(PeerVerificationException e) {
    log.debug("refusing HBONE {} certificate: {}", role == Role.SERVER ? "client" : "server", e.getMessage());
    return e;
  }

  private List<SpiffeId> spiffeIds(X509Certificate leaf) throws PeerVerificationException {
    List<String> uris = WorkloadCertificate.uriSans(leaf);
    List<SpiffeId> ids = uris.stream().flatMap(u -> SpiffeId.tryParse(u).stream()).toList();
    if (ids.isEmpty()) {
      throw refuse(new PeerVerificationException(Reason.NO_SPIFFE_SAN,
          "certificate " + describe(leaf) + " has no SPIFFE URI SAN (URI SANs: " + uris + ")"));
    }
    return ids;
  }

  private static String describe(X509Certificate cert) {
    List<String> uris = WorkloadCertificate.uriSans(cert);
    String subject = cert.getSubjectX500Principal().getName();
    return uris.isEmpty() ? "'" + subject + "'" : uris.toString();
  }
}
