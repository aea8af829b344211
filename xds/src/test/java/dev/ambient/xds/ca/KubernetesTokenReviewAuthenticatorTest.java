package dev.ambient.xds.ca;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ambient.identity.SpiffeId;
import io.fabric8.kubernetes.api.model.authentication.TokenReview;
import io.fabric8.kubernetes.api.model.authentication.TokenReviewBuilder;
import io.fabric8.kubernetes.api.model.authentication.TokenReviewStatus;
import io.fabric8.kubernetes.api.model.authentication.TokenReviewStatusBuilder;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.grpc.Metadata;
import io.grpc.Status;
import java.net.ServerSocket;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The TokenReview authenticator against fabric8's mock API server. Expectations mode, not CRUD: a CRUD
 * mock stores a created TokenReview as it was sent and computes no status, so each test states the
 * review the API server answers.
 */
@EnableKubernetesMockClient
class KubernetesTokenReviewAuthenticatorTest {
  static KubernetesClient client;
  static KubernetesMockServer server;

  private static final String PATH = "/apis/authentication.k8s.io/v1/tokenreviews";
  private static final KubernetesTokenReviewAuthenticator.Settings SETTINGS =
      KubernetesTokenReviewAuthenticator.Settings.defaults();

  private static Metadata bearer(String token) {
    Metadata h = new Metadata();
    h.put(CallerAuthenticator.AUTHORIZATION, "Bearer " + token);
    return h;
  }

  private static TokenReview answer(TokenReviewStatus status) {
    return new TokenReviewBuilder().withStatus(status).build();
  }

  private static TokenReviewStatus sa(String ns, String name, String... audiences) {
    return new TokenReviewStatusBuilder().withAuthenticated(true).withAudiences(audiences)
        .withNewUser().withUsername("system:serviceaccount:" + ns + ":" + name)
        .withGroups("system:serviceaccounts", "system:serviceaccounts:" + ns, "system:authenticated").endUser()
        .build();
  }

  @Test
  void authenticatedServiceAccount_isItsSpiffeIdentity_andTheReviewAsksForIstioCa() throws Exception {
    server.expect().post().withPath(PATH).andReturn(201, answer(sa("shop", "web", "istio-ca"))).once();
    var auth = new KubernetesTokenReviewAuthenticator(client, SETTINGS);

    CallerAuthenticator.Caller caller = auth.authenticate(bearer("jwt-web"));

    assertThat(caller).isEqualTo(new CallerAuthenticator.Caller(SpiffeId.of("cluster.local", "shop", "web"), false));
    TokenReview sent = Serialization.unmarshal(server.getLastRequest().getBody().readUtf8(), TokenReview.class);
    assertThat(sent.getSpec().getToken()).isEqualTo("jwt-web");
    assertThat(sent.getSpec().getAudiences()).containsExactly("istio-ca");
  }

  @Test
  void ztunnelServiceAccount_isANodeProxy() {
    server.expect().post().withPath(PATH).andReturn(201, answer(sa("istio-system", "ztunnel", "istio-ca"))).once();
    var caller = new KubernetesTokenReviewAuthenticator(client, SETTINGS).authenticate(bearer("jwt-zt"));
    assertThat(caller.nodeProxy()).isTrue();
    assertThat(caller.identity()).isEqualTo(SpiffeId.of("cluster.local", "istio-system", "ztunnel"));
  }

  @Test
  void unauthenticatedToken_isUnauthenticated() {
    server.expect().post().withPath(PATH).andReturn(201, answer(new TokenReviewStatusBuilder()
        .withAuthenticated(false).withError("[invalid bearer token, token has been invalidated]").build())).once();
    assertRefused(() -> new KubernetesTokenReviewAuthenticator(client, SETTINGS).authenticate(bearer("bad")),
        Status.Code.UNAUTHENTICATED, "invalid bearer token");
  }

  @Test
  void wrongAudience_isUnauthenticated() {
    server.expect().post().withPath(PATH).andReturn(201, answer(sa("shop", "web", "https://kubernetes.default.svc")))
        .once();
    assertRefused(() -> new KubernetesTokenReviewAuthenticator(client, SETTINGS).authenticate(bearer("api-token")),
        Status.Code.UNAUTHENTICATED, "not for audience [istio-ca]");
  }

  @Test
  void apiServerError_isUnavailable() {
    server.expect().post().withPath(PATH).andReturn(500, "etcd is down").once();
    KubernetesClient noRetry = new KubernetesClientBuilder().withConfig(new ConfigBuilder(client.getConfiguration())
        .withRequestRetryBackoffLimit(0).build()).build();
    try (noRetry) {
      assertRefused(() -> new KubernetesTokenReviewAuthenticator(noRetry, SETTINGS).authenticate(bearer("jwt")),
          Status.Code.UNAVAILABLE, "cannot review the token");
    }
  }

  @Test
  void apiUnreachable_isUnavailable_neverAnIdentity() throws Exception {
    int closed;
    try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      closed = s.getLocalPort();
    }
    KubernetesClient unreachable = new KubernetesClientBuilder().withConfig(new ConfigBuilder()
        .withMasterUrl("https://127.0.0.1:" + closed).withTrustCerts(true).withRequestRetryBackoffLimit(0)
        .withConnectionTimeout(2_000).withRequestTimeout(2_000).build()).build();
    try (unreachable) {
      assertRefused(() -> new KubernetesTokenReviewAuthenticator(unreachable, SETTINGS).authenticate(bearer("jwt")),
          Status.Code.UNAVAILABLE, "127.0.0.1:" + closed);
    }
  }

  @Test
  void noToken_orForeignCluster_isUnauthenticated_withoutAskingTheApi() {
    var auth = new KubernetesTokenReviewAuthenticator(client, SETTINGS);
    int before = server.getRequestCount(); // the mock server is shared by the class's tests
    assertRefused(() -> auth.authenticate(new Metadata()), Status.Code.UNAUTHENTICATED, "no 'authorization");
    Metadata h = bearer("jwt");
    h.put(CallerAuthenticator.CLUSTER_ID, "other-cluster");
    assertRefused(() -> auth.authenticate(h), Status.Code.UNAUTHENTICATED, "other-cluster");
    assertThat(server.getRequestCount()).isEqualTo(before);
  }

  static Stream<Arguments> statuses() {
    return Stream.of(
        Arguments.of("no status", null, "has no status"),
        Arguments.of("error", new TokenReviewStatusBuilder(sa("a", "b", "istio-ca")).withError("expired").build(),
            "returns an error: expired"),
        Arguments.of("authenticated unset", new TokenReviewStatusBuilder(sa("a", "b", "istio-ca"))
            .withAuthenticated(null).build(), "not authenticated"),
        Arguments.of("no audiences", sa("a", "b"), "not for audience"),
        Arguments.of("a user, not a service account", new TokenReviewStatusBuilder().withAuthenticated(true)
            .withAudiences("istio-ca").withNewUser().withUsername("alice").withGroups("system:authenticated")
            .endUser().build(), "not a service account"),
        Arguments.of("username not system:serviceaccount:NS:SA", new TokenReviewStatusBuilder(sa("a", "b", "istio-ca"))
            .editUser().withUsername("system:node:n1").endUser().build(), "invalid username"),
        Arguments.of("empty namespace", new TokenReviewStatusBuilder(sa("a", "b", "istio-ca"))
            .editUser().withUsername("system:serviceaccount::b").endUser().build(), "invalid username"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("statuses")
  void decide_refuses(String name, TokenReviewStatus status, String reason) {
    assertRefused(() -> KubernetesTokenReviewAuthenticator.decide(status, SETTINGS), Status.Code.UNAUTHENTICATED,
        reason);
  }

  @Test
  void decide_settingsChooseTrustDomainAudiencesAndNodeAccounts() {
    var s = new KubernetesTokenReviewAuthenticator.Settings("td.example", List.of("istio-ca", "other"),
        Set.of("kube-system/ztunnel"), "c1");
    var caller = KubernetesTokenReviewAuthenticator.decide(sa("kube-system", "ztunnel", "other"), s);
    assertThat(caller).isEqualTo(new CallerAuthenticator.Caller(SpiffeId.of("td.example", "kube-system", "ztunnel"),
        true));
    assertThat(KubernetesTokenReviewAuthenticator.decide(sa("istio-system", "ztunnel", "istio-ca"), s).nodeProxy())
        .isFalse();
  }

  private static void assertRefused(org.assertj.core.api.ThrowableAssert.ThrowingCallable call, Status.Code code,
      String message) {
    assertThatThrownBy(call).isInstanceOfSatisfying(CaException.class, e -> {
      assertThat(e.toStatus().getCode()).isEqualTo(code);
      assertThat(e.getMessage()).contains(message);
    });
  }
}
