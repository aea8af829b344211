package dev.ambient.xds.ca;

import static java.util.Objects.requireNonNull;

import dev.ambient.identity.SpiffeId;
import io.grpc.Metadata;

/**
 * Decides who is calling the CA from the request metadata (istiod: a Kubernetes TokenReview of the
 * {@code authorization: Bearer} JWT, with {@code clusterid}). Implementations must be thread-safe;
 * they are called on gRPC's executor.
 */
@FunctionalInterface
public interface CallerAuthenticator {
  /** The {@code authorization} header. */
  Metadata.Key<String> AUTHORIZATION = Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);
  /** The {@code clusterid} header (ztunnel's {@code CLUSTER_ID}). */
  Metadata.Key<String> CLUSTER_ID = Metadata.Key.of("clusterid", Metadata.ASCII_STRING_MARSHALLER);

  /**
   * Authenticates a call.
   *
   * @return the caller
   * @throws CaException with {@link CaException.Reason#UNAUTHENTICATED} and a message that names
   *     the likely cause (no token, unknown token, wrong cluster)
   */
  Caller authenticate(Metadata headers);

  /**
   * An authenticated caller.
   *
   * @param identity the caller's own SPIFFE identity
   * @param nodeProxy whether it may request certificates for other identities through
   *     {@code ImpersonatedIdentity} (ztunnel; istiod's {@code CA_TRUSTED_NODE_ACCOUNTS})
   */
  record Caller(SpiffeId identity, boolean nodeProxy) {
    public Caller {
      requireNonNull(identity, "identity");
    }
  }

  /** The bearer token of {@code headers}, or an empty string when there is none. */
  /**
   * The bearer token of the request, or {@link CaException.Reason#UNAUTHENTICATED} when there is none.
   */
  static String requireBearerToken(Metadata headers) {
    String token = bearerToken(headers);
    if (token.isEmpty()) {
      throw new CaException(CaException.Reason.UNAUTHENTICATED,
          "authentication failure: no 'authorization: Bearer <token>' header (is the client's token configured?)");
    }
    return token;
  }

  static String bearerToken(Metadata headers) {
    String value = headers.get(AUTHORIZATION);
    if (value == null) {
      return "";
    }
    value = value.strip();
    return value.regionMatches(true, 0, "Bearer ", 0, 7) ? value.substring(7).strip() : "";
  }
}
