package dev.ambient.xds.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ambient.identity.SpiffeId;
import dev.ambient.xds.ca.CaClient;
import dev.ambient.xds.ca.CaException;
import dev.ambient.xds.ca.KubernetesTokenReviewAuthenticator;
import dev.ambient.xds.ca.TokenSource;
import dev.ambient.xds.client.AuthToken;
import dev.ambient.xds.client.XdsChannelFactory;
import dev.ambient.xds.client.XdsClient;
import io.fabric8.kubernetes.api.model.authentication.TokenReview;
import io.fabric8.kubernetes.api.model.authentication.TokenReviewBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code --kube-token-review} end to end: the control plane as {@link StandaloneControlPlane} builds it with
 * the TokenReview authenticator, fabric8's mock API server (expectations mode, answering each review
 * from its token: "zt" is istio-system/ztunnel, anything else not authenticated), and the real xDS and
 * CA clients over TLS.
 */
@EnableKubernetesMockClient
class KubeTokenReviewControlPlaneTest {
  static KubernetesClient client;
  static KubernetesMockServer server;

  @TempDir Path config;
  @TempDir Path state;
  private ControlPlane cp;

  @BeforeEach
  void start() throws Exception {
    server.expect().post().withPath("/apis/authentication.k8s.io/v1/tokenreviews").andReply(201, request -> {
      TokenReview in = Serialization.unmarshal(request.getBody().readUtf8(), TokenReview.class);
      TokenReviewBuilder out = new TokenReviewBuilder(in);
      if (in.getSpec().getToken().equals("zt") && in.getSpec().getAudiences().contains("istio-ca")) {
        out.withNewStatus().withAuthenticated(true).withAudiences("istio-ca").withNewUser()
            .withUsername("system:serviceaccount:istio-system:ztunnel").withGroups("system:serviceaccounts")
            .endUser().endStatus();
      } else {
        out.withNewStatus().withAuthenticated(false).withError("invalid bearer token").endStatus();
      }
      return out.build();
    }).always();
    cp = StandaloneControlPlane.startAuthenticated(config, null, state,
        new KubernetesTokenReviewAuthenticator(client, KubernetesTokenReviewAuthenticator.Settings.defaults()),
        new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
  }

  @AfterEach
  void stop() {
    cp.close();
  }

  private XdsClient xds(String token) {
    XdsClient c = XdsClient.builder()
        .channelFactory(XdsChannelFactory.tls("https://127.0.0.1:" + cp.address().getPort(),
            state.resolve("root-cert.pem").toString(), ControlPlane.ISTIOD_NAME))
        .token(new AuthToken.Literal(token)).build();
    c.start();
    return c;
  }

  private CaClient ca(String token) {
    return CaClient.builder().address("127.0.0.1:" + cp.address().getPort())
        .rootCertFile(state.resolve("root-cert.pem")).authorityOverride(ControlPlane.ISTIOD_NAME)
        .tokenSource(new TokenSource.Literal(token)).sharedMode(true).build();
  }

  @Test
  void reviewedZtunnelToken_syncsXds_andGetsCertificatesForOthers() throws Exception {
    try (XdsClient c = xds("zt"); CaClient ca = ca("zt")) {
      c.synced().get(10, TimeUnit.SECONDS);
      assertThat(cp.ads().metrics().responses()).isEqualTo(2); // Address and Authorization, both types synced
      SpiffeId pod = SpiffeId.of("cluster.local", "ns", "a");
      assertThat(ca.fetch(pod).get(10, TimeUnit.SECONDS).identity()).isEqualTo(pod);
    }
  }

  @Test
  void rejectedToken_neitherSyncsNorGetsACertificate() throws Exception {
    try (XdsClient c = xds("stolen"); CaClient ca = ca("stolen")) {
      try {
        c.synced().get(2, TimeUnit.SECONDS);
        throw new AssertionError("synced with a rejected token");
      } catch (TimeoutException expected) {
        // the stream is refused (UNAUTHENTICATED) and retried with backoff
      }
      try {
        ca.fetch(SpiffeId.of("cluster.local", "ns", "a")).get(10, TimeUnit.SECONDS);
        throw new AssertionError("certificate issued for a rejected token");
      } catch (ExecutionException e) {
        assertThat(e.getCause()).isInstanceOf(CaException.class).hasMessageContaining("UNAUTHENTICATED")
            .hasMessageContaining("invalid bearer token");
      }
    }
    assertThat(cp.ads().metrics().responses()).isZero();
  }
}
