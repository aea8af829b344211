package dev.ambient.xds.ca;

import static java.util.Objects.requireNonNull;

import dev.ambient.identity.SpiffeId;
import io.fabric8.kubernetes.api.model.authentication.TokenReview;
import io.fabric8.kubernetes.api.model.authentication.TokenReviewBuilder;
import io.fabric8.kubernetes.api.model.authentication.TokenReviewStatus;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.grpc.Metadata;
import java.util.List;
import java.util.Set;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * istiod's Kubernetes JWT authenticator (spec istio-ambient §5): the {@code authorization: Bearer}
 * token is checked with a {@code TokenReview} ({@code POST /apis/authentication.k8s.io/v1/tokenreviews})
 * asking for the audiences {@code TOKEN_AUDIENCES} (default {@code istio-ca}); the caller is
 * {@code spiffe://<trust-domain>/ns/<ns>/sa/<sa>} from the reviewed user
 * {@code system:serviceaccount:<ns>:<sa>}, and a node proxy when {@code <ns>/<sa>} is one of the
 * trusted node accounts ({@code CA_TRUSTED_NODE_ACCOUNTS}, default {@code istio-system/ztunnel}).
 *
 * <h2>Decisions</h2>
 * {@code UNAUTHENTICATED}: no token; a {@code clusterid} header naming another cluster than this one
 * (istiod has no client for it); a review with an error, not authenticated, without one of the asked
 * audiences in {@code status.audiences} (Kubernetes asks clients to check this), not in the group
 * {@code system:serviceaccounts}, or a user name that is not {@code system:serviceaccount:NS:SA}.
 * {@code UNAVAILABLE} ({@link CaException.Reason#AUTHENTICATOR_UNAVAILABLE}): the API server could
 * not be asked or refused the review itself (unreachable, timeout, our own credentials rejected), so
 * the client retries; never an identity in that case.
 *
 * <h2>Threading</h2>
 * Thread-safe; {@link #authenticate} blocks the calling (gRPC executor) thread for one API request,
 * bounded by the client's request timeout. No caching: one review per xDS stream and per CSR.
 */
public final class KubernetesTokenReviewAuthenticator implements CallerAuthenticator {
  private static final Logger log = LoggerFactory.getLogger(KubernetesTokenReviewAuthenticator.class);
  /** istiod's default {@code TOKEN_AUDIENCES}. */
  public static final String DEFAULT_AUDIENCE = "istio-ca";
  /** The Istio chart's {@code CA_TRUSTED_NODE_ACCOUNTS}: ztunnel's namespace/service account. */
  public static final String DEFAULT_NODE_ACCOUNT = "istio-system/ztunnel";
  /** ztunnel's default {@code CLUSTER_ID}, and istiod's name for its own cluster. */
  public static final String DEFAULT_CLUSTER_ID = "Kubernetes";
  static final String SERVICE_ACCOUNTS_GROUP = "system:serviceaccounts";

  private final KubernetesClient client;
  private final Settings settings;

  /**
   * What the reviewed token must show, and who the caller then is.
   *
   * @param trustDomain of the caller's SPIFFE id
   * @param audiences asked for in the review; {@code status.audiences} must contain one of them
   * @param trustedNodeAccounts {@code namespace/serviceAccount} entries that are node proxies
   * @param clusterId the cluster this API server is; a {@code clusterid} header naming another is refused
   */
  public record Settings(String trustDomain, List<String> audiences, Set<String> trustedNodeAccounts, String clusterId) {
    public Settings {
      requireNonNull(trustDomain, "trustDomain");
      audiences = List.copyOf(audiences);
      trustedNodeAccounts = Set.copyOf(trustedNodeAccounts);
      requireNonNull(clusterId, "clusterId");
      if (audiences.isEmpty()) {
        throw new IllegalArgumentException("at least one token audience is needed");
      }
    }

    /** {@code cluster.local}, {@code istio-ca}, {@code istio-system/ztunnel}, cluster {@code Kubernetes}. */
    public static Settings defaults() {
      return new Settings("cluster.local", List.of(DEFAULT_AUDIENCE), Set.of(DEFAULT_NODE_ACCOUNT), DEFAULT_CLUSTER_ID);
    }
  }

  public KubernetesTokenReviewAuthenticator(KubernetesClient client, Settings settings) {
    this.client = requireNonNull(client, "client");
    this.settings = requireNonNull(settings, "settings");
  }

  @Override
  public Caller authenticate(Metadata headers) {
    String token = CallerAuthenticator.requireBearerToken(headers);
    String cluster = headers.get(CLUSTER_ID);
    if (cluster != null && !cluster.isEmpty() && !cluster.equals(settings.clusterId())) {
      throw new CaException(CaException.Reason.UNAUTHENTICATED,
          "authentication failure: clusterid '" + cluster + "' is not this cluster ('" + settings.clusterId() + "')");
    }
    TokenReview review = new TokenReviewBuilder()
        .withNewSpec().withToken(token).withAudiences(settings.audiences()).endSpec()
        .build();
    TokenReview result;
    try {
      result = client.authentication().v1().tokenReviews().create(review);
    } catch (RuntimeException e) {
      // KubernetesClientException for HTTP errors and I/O failures alike: the review did not happen.
      log.warn("TokenReview failed: {}", e.toString());
      throw new CaException(CaException.Reason.AUTHENTICATOR_UNAVAILABLE,
          "cannot review the token with the Kubernetes API (" + client.getMasterUrl() + "): " + e.getMessage(), e);
    }
    return decide(result == null ? null : result.getStatus(), settings);
  }

  /**
   * The decision on a review's status (pure).
   *
   * @throws CaException {@link CaException.Reason#UNAUTHENTICATED} with the reason
   */
  static Caller decide(@Nullable TokenReviewStatus status, Settings settings) {
    if (status == null) {
      throw unauthenticated("the TokenReview has no status");
    }
    if (status.getError() != null && !status.getError().isEmpty()) {
      throw unauthenticated("the service account authentication returns an error: " + status.getError());
    }
    if (!Boolean.TRUE.equals(status.getAuthenticated())) {
      throw unauthenticated("the token is not authenticated");
    }
    List<String> audiences = status.getAudiences() == null ? List.of() : status.getAudiences();
    if (audiences.stream().noneMatch(settings.audiences()::contains)) {
      throw unauthenticated("the token is not for audience " + settings.audiences() + " (reviewed audiences "
          + audiences + ")");
    }
    if (status.getUser() == null || status.getUser().getGroups() == null
        || !status.getUser().getGroups().contains(SERVICE_ACCOUNTS_GROUP)) {
      throw unauthenticated("the token is not a service account");
    }
    String user = status.getUser().getUsername() == null ? "" : status.getUser().getUsername();
    String[] parts = user.split(":", -1);
    if (parts.length != 4 || !parts[0].equals("system") || !parts[1].equals("serviceaccount")
        || parts[2].isEmpty() || parts[3].isEmpty()) {
      throw unauthenticated("invalid username field in the token review result: '" + user + "'");
    }
    SpiffeId id;
    try {
      id = SpiffeId.parse("spiffe://" + settings.trustDomain() + "/ns/" + parts[2] + "/sa/" + parts[3]);
    } catch (IllegalArgumentException e) { // InvalidSpiffeIdException included
      throw unauthenticated("the reviewed service account is not a SPIFFE identity: " + e.getMessage());
    }
    return new Caller(id, settings.trustedNodeAccounts().contains(parts[2] + "/" + parts[3]));
  }

  private static CaException unauthenticated(String why) {
    return new CaException(CaException.Reason.UNAUTHENTICATED, "authentication failure: " + why);
  }

  @Override
  public String toString() {
    return "KubernetesTokenReviewAuthenticator{" + client.getMasterUrl() + ", " + settings + "}";
  }
}
