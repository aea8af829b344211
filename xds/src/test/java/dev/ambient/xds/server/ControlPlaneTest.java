package dev.ambient.xds.server;

import static dev.ambient.xds.api.Rpc.TYPE_ADDRESS;
import static dev.ambient.xds.api.Rpc.TYPE_AUTHORIZATION;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.ambient.xds.api.discovery.DeltaDiscoveryResponse;
import dev.ambient.xds.api.discovery.Resource;
import io.grpc.Grpc;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.TlsChannelCredentials;
import io.grpc.stub.MetadataUtils;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ControlPlaneTest {
  @TempDir Path config;
  @TempDir Path state;
  private ControlPlane cp;
  private ManagedChannel channel;

  private ControlPlane start(ControlPlane.Builder b) {
    cp = b.configDir(config).configSource(new FakeConfigSource(config)).ca(new FakeServingCa(state))
        .listen(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0)).build().start();
    return cp;
  }

  private ManagedChannel connect(String authority) throws Exception {
    channel = Grpc.newChannelBuilderForAddress("127.0.0.1", cp.address().getPort(),
            TlsChannelCredentials.newBuilder().trustManager(state.resolve("root-cert.pem").toFile()).build())
        .overrideAuthority(authority).build();
    return channel;
  }

  @AfterEach
  void stop() throws Exception {
    if (channel != null) {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
    if (cp != null) {
      cp.close();
    }
  }

  @Test
  void tlsPort_verifiesWithRootCert_andNamesIstiodAndListenAddress() throws Exception {
    Files.writeString(config.resolve("a.yaml"), "workload c1//Pod/ns/a 198.18.0.10\n");
    start(ControlPlane.builder());
    assertThat(state.resolve("root-cert.pem")).exists();

    X509Certificate root;
    try (InputStream in = Files.newInputStream(state.resolve("root-cert.pem"))) {
      root = (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in);
    }
    KeyStore trust = KeyStore.getInstance("PKCS12");
    trust.load(null, null);
    trust.setCertificateEntry("root", root);
    TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(trust);
    SSLContext ctx = SSLContext.getInstance("TLS");
    ctx.init(null, tmf.getTrustManagers(), null);
    try (SSLSocket socket = (SSLSocket) ctx.getSocketFactory().createSocket("127.0.0.1", cp.address().getPort())) {
      socket.setSSLParameters(withAlpn(socket));
      socket.startHandshake();
      X509Certificate leaf = (X509Certificate) socket.getSession().getPeerCertificates()[0];
      assertThat(leaf.getSubjectAlternativeNames()).extracting(san -> (Object) san.get(1))
          .contains((Object) "istiod.istio-system.svc", (Object) "127.0.0.1");
    }

    try (AdsTestClient client = new AdsTestClient(connect(ControlPlane.ISTIOD_NAME))) {
      client.wildcard(TYPE_ADDRESS);
      assertThat(client.next().getResourcesList()).extracting(Resource::getName).containsExactly("c1//Pod/ns/a");
    }
  }

  private static javax.net.ssl.SSLParameters withAlpn(SSLSocket socket) {
    var p = socket.getSSLParameters();
    p.setApplicationProtocols(new String[] {"h2"});
    return p;
  }

  @Test
  void tlsPort_rejectsAClientExpectingAnotherName() throws Exception {
    start(ControlPlane.builder());
    try (AdsTestClient client = new AdsTestClient(connect("not-istiod.example"))) {
      client.wildcard(TYPE_ADDRESS);
      Throwable error = client.errors.poll(10, TimeUnit.SECONDS);
      assertThat(error).isInstanceOf(StatusRuntimeException.class);
      assertThat(Status.fromThrowable(error).getCode()).isEqualTo(Status.Code.UNAVAILABLE);
    }
  }

  @Test
  void fileChange_isPushedAsDelta() throws Exception {
    Files.writeString(config.resolve("a.yaml"), "workload c1//Pod/ns/a 198.18.0.10\n");
    start(ControlPlane.builder());
    try (AdsTestClient client = new AdsTestClient(connect(ControlPlane.ISTIOD_NAME))) {
      client.wildcard(TYPE_ADDRESS);
      client.wildcard(TYPE_AUTHORIZATION);
      client.nextAcked();
      client.nextAcked();
      Files.writeString(config.resolve("b.yaml"), "workload c1//Pod/ns/b 198.18.0.11\n");
      DeltaDiscoveryResponse push = client.nextAcked();
      assertThat(push.getTypeUrl()).isEqualTo(TYPE_ADDRESS);
      assertThat(push.getResourcesList()).extracting(Resource::getName).containsExactly("c1//Pod/ns/b");

      Files.delete(config.resolve("a.yaml"));
      DeltaDiscoveryResponse removal = client.nextAcked();
      assertThat(removal.getRemovedResourcesList()).containsExactly("c1//Pod/ns/a");
    }
  }

  @Test
  void badFile_isReportedWithFileAndLine_andLastGoodContentStays() throws Exception {
    Path a = config.resolve("a.yaml");
    Files.writeString(a, "workload c1//Pod/ns/a 198.18.0.10\npolicy ns/p\n");
    start(ControlPlane.builder());
    try (AdsTestClient client = new AdsTestClient(connect(ControlPlane.ISTIOD_NAME))) {
      client.wildcard(TYPE_ADDRESS);
      client.nextAcked();
      Files.writeString(a, "workload c1//Pod/ns/a 198.18.0.10\nthis is not valid\n");
      await().untilAsserted(() -> assertThat(cp.problems()).singleElement()
          .satisfies(p -> {
            assertThat(p.file()).isEqualTo(a);
            assertThat(p.line()).isEqualTo(2);
          }));
      assertThat(cp.store().snapshot(TYPE_ADDRESS).resources()).containsOnlyKeys("c1//Pod/ns/a");
      assertThat(cp.store().snapshot(TYPE_AUTHORIZATION).resources()).containsOnlyKeys("ns/p");

      // Fixed: the problem goes away and the new content is pushed.
      Files.writeString(a, "workload c1//Pod/ns/a 198.18.0.10\nworkload c1//Pod/ns/c 198.18.0.12\n");
      DeltaDiscoveryResponse push = client.nextAcked();
      assertThat(push.getResourcesList()).extracting(Resource::getName).containsExactly("c1//Pod/ns/c");
      await().until(() -> cp.problems().isEmpty());
    }
  }

  @Test
  void restart_withSameFiles_sendsNothingTheClientHolds() throws Exception {
    Files.writeString(config.resolve("a.yaml"), "workload c1//Pod/ns/a 198.18.0.10\nworkload c1//Pod/ns/b 198.18.0.11\n");
    start(ControlPlane.builder());
    java.util.Map<String, String> held;
    try (AdsTestClient client = new AdsTestClient(connect(ControlPlane.ISTIOD_NAME))) {
      client.wildcard(TYPE_ADDRESS);
      held = DeltaAdsServerTest.versions(client.nextAcked());
    }
    channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    cp.close();
    Files.writeString(config.resolve("a.yaml"), "workload c1//Pod/ns/a 198.18.0.10\nworkload c1//Pod/ns/c 198.18.0.12\n");
    start(ControlPlane.builder());
    try (AdsTestClient client = new AdsTestClient(connect(ControlPlane.ISTIOD_NAME))) {
      client.wildcard(TYPE_ADDRESS, held);
      DeltaDiscoveryResponse r = client.nextAcked();
      assertThat(r.getResourcesList()).extracting(Resource::getName).containsExactly("c1//Pod/ns/c");
      assertThat(r.getRemovedResourcesList()).containsExactly("c1//Pod/ns/b");
    }
  }

  @Test
  void tokens_callWithoutAKnownBearerTokenIsRejected() throws Exception {
    Path tokens = state.resolve("tokens");
    Files.write(tokens, List.of("# accepted", "s3cret spiffe://cluster.local/ns/istio-system/sa/ztunnel node-proxy"));
    start(ControlPlane.builder().tokens(tokens));
    connect(ControlPlane.ISTIOD_NAME);
    try (AdsTestClient anonymous = new AdsTestClient(channel)) {
      anonymous.wildcard(TYPE_ADDRESS);
      Throwable error = anonymous.errors.poll(10, TimeUnit.SECONDS);
      assertThat(Status.fromThrowable(error).getCode()).isEqualTo(Status.Code.UNAUTHENTICATED);
    }
    Metadata h = new Metadata();
    h.put(BearerTokens.AUTHORIZATION, "Bearer s3cret");
    try (AdsTestClient authorized = new AdsTestClient(io.grpc.ClientInterceptors.intercept(channel,
        MetadataUtils.newAttachHeadersInterceptor(h)))) {
      authorized.wildcard(TYPE_ADDRESS);
      assertThat(authorized.next().getTypeUrl()).isEqualTo(TYPE_ADDRESS);
    }
  }
}
