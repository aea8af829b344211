package dev.ambient.xds.ca;

import static java.util.Objects.requireNonNull;

import io.grpc.Status;
import org.jspecify.annotations.Nullable;

/**
 * A failure on either side of the CA API, with a {@link Reason} that says which. The server side
 * maps the reason to a gRPC status ({@link #toStatus()}); the client side surfaces it in logs and as
 * the {@code Unavailable} certificate state (spec ztunnel §8.5 error kinds).
 */
public final class CaException extends RuntimeException {
  /** What went wrong. */
  public enum Reason {
    /** The CSR is not PEM PKCS#10, its signature does not verify, or its SANs are not one SPIFFE URI. */
    INVALID_CSR(Status.Code.INVALID_ARGUMENT),
    /** A request field other than the CSR is unacceptable (TTL above the maximum, bad metadata). */
    INVALID_REQUEST(Status.Code.INVALID_ARGUMENT),
    /** No or an unknown token; or a node proxy may not impersonate the requested identity (istiod: opaque). */
    UNAUTHENTICATED(Status.Code.UNAUTHENTICATED),
    /** Server: the caller could not be authenticated now (the Kubernetes API is unreachable); retry later. */
    AUTHENTICATOR_UNAVAILABLE(Status.Code.UNAVAILABLE),
    /** The CSR asks for an identity the caller may not have. */
    PERMISSION_DENIED(Status.Code.PERMISSION_DENIED),
    /** The CA cannot sign (internal error, broken CA files). */
    SIGNING_FAILED(Status.Code.INTERNAL),
    /** Client: the CSR could not be generated. */
    CSR_GENERATION(Status.Code.INTERNAL),
    /** Client: the CA call failed with a gRPC status (code and message in the text). */
    CA_CALL_FAILED(Status.Code.UNAVAILABLE),
    /** Client: the CA returned no chain, or a chain without a root. */
    EMPTY_CHAIN(Status.Code.INTERNAL),
    /** Client: the issued leaf's first SPIFFE SAN is not the identity that was requested. */
    SAN_MISMATCH(Status.Code.INTERNAL),
    /** Client: the token could not be read. */
    TOKEN(Status.Code.UNAUTHENTICATED),
    /** Client: the identity was forgotten while a request for it was pending. */
    FORGOTTEN(Status.Code.CANCELLED);

    private final Status.Code code;

    Reason(Status.Code code) {
      this.code = code;
    }

    public Status.Code code() {
      return code;
    }
  }

  private final Reason reason;

  public CaException(Reason reason, String message) {
    this(reason, message, null);
  }

  public CaException(Reason reason, String message, @Nullable Throwable cause) {
    super(requireNonNull(message, "message"), cause);
    this.reason = requireNonNull(reason, "reason");
  }

  public Reason reason() {
    return reason;
  }

  /** The gRPC status the CA service answers with. */
  public Status toStatus() {
    return Status.fromCode(reason.code()).withDescription(getMessage());
  }

  @Override
  public String toString() {
    return reason + ": " + getMessage();
  }
}
