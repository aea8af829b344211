package dev.ambient.identity;

import static java.util.Objects.requireNonNull;

import java.security.cert.CertificateException;
import org.jspecify.annotations.Nullable;

/**
 * A peer certificate refused by HBONE verification (spec §4.3). The {@link #reason()} classifies
 * it; the message says what was presented and what was expected. Thrown from the trust managers
 * and so found in the cause chain of a failed TLS handshake.
 */
public final class PeerVerificationException extends CertificateException {
  private static final long serialVersionUID = 1L;

  /** Why a peer certificate was refused. */
  public enum Reason {
    /** The peer presented no certificate. */
    NO_CERTIFICATE,
    /** The leaf's notAfter is in the past. */
    EXPIRED,
    /** The leaf's notBefore is in the future. */
    NOT_YET_VALID,
    /** The chain does not lead to a root of the trust bundle (unknown CA, bad signature, bad intermediate). */
    UNTRUSTED_CHAIN,
    /** The leaf has an extended-key-usage extension without the usage its role needs. */
    MISSING_EKU,
    /** The leaf has no URI SAN that is a SPIFFE id. */
    NO_SPIFFE_SAN,
    /** A client's SPIFFE ids are all in another trust domain than the server's. */
    WRONG_TRUST_DOMAIN,
    /** None of the server's SPIFFE ids is one the client expected. */
    SAN_MISMATCH
  }

  private final Reason reason;

  public PeerVerificationException(Reason reason, String message) {
    this(reason, message, null);
  }

  public PeerVerificationException(Reason reason, String message, @Nullable Throwable cause) {
    super(reason + ": " + message, cause);
    this.reason = requireNonNull(reason, "reason");
  }

  public Reason reason() {
    return reason;
  }
}
