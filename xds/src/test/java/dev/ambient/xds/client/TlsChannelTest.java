package dev.ambient.xds.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.ambient.testing.IssuedCertificate;
import dev.ambient.testing.LeafSpec;
import dev.ambient.testing.TestCa;
import dev.ambient.xds.api.Rpc;
import io.grpc.netty.GrpcSslContexts;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.netty.handler.ssl.SslContextBuilder;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The production channel factory against a TLS server whose certificate has only a DNS SAN. */
class TlsChannelTest {
  private static final String SAN = "istiod.istio-system.svc";
  private final TestCa ca = TestCa.create("cluster.local");
  private FakeAdsServer server;
  private XdsClient client;

  @BeforeEach
  void startServer() throws Exception {
    IssuedCertificate cert = ca.issue(LeafSpec.uris().dnsNames(SAN));
    server = FakeAdsServer.startTls(GrpcSslContexts.configure(SslContextBuilder.forServer(
            new ByteArrayInputStream(cert.chainPem().getBytes(StandardCharsets.US_ASCII)),
            new ByteArrayInputStream(cert.keyPem().getBytes(StandardCharsets.US_ASCII))))
        .build());
  }

  @AfterEach
  void tearDown() {
    if (client != null) {
      client.close();
    }
    server.close();
  }

  @Test
  void tls_rootFromFile_altHostnameAccepted_syncs(@TempDir Path dir) throws Exception {
    Path root = dir.resolve("root-cert.pem");
    Files.writeString(root, cert().rootPem());
    // The URL host (localhost) is not in the certificate; ALT_XDS_HOSTNAME is.
    client = XdsClient.builder()
        .environment(Map.of("XDS_ADDRESS", "https://localhost:" + server.port(), "XDS_ROOT_CA", root.toString(),
            "ALT_XDS_HOSTNAME", SAN))
        .build();
    client.start();
    assertThat(server.next().getTypeUrl()).isEqualTo(Rpc.TYPE_ADDRESS);
    assertThat(server.next().getTypeUrl()).isEqualTo(Rpc.TYPE_AUTHORIZATION);
    server.send(FakeAdsServer.response(Rpc.TYPE_ADDRESS, "a", List.of()));
    server.send(FakeAdsServer.response(Rpc.TYPE_AUTHORIZATION, "b", List.of()));
    assertThat(client.synced()).succeedsWithin(Duration.ofSeconds(5));
  }

  @Test
  void tls_nameMismatch_neverConnects() throws Exception {
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    client = XdsClient.builder()
        .channelFactory(XdsChannelFactory.tls("localhost:" + server.port(), cert().rootPem(), null))
        .meterRegistry(registry)
        .build();
    client.start();
    await().atMost(Duration.ofSeconds(5)).until(() ->
        registry.find("istio_xds_connection_terminations").tag("reason", "ConnectionError").counter() != null);
    assertThat(server.requests).isEmpty();
    assertThat(client.synced()).isNotDone();
  }

  @Test
  void tls_untrustedRoot_neverConnects() throws Exception {
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    String otherRoot = TestCa.create("other").issue(LeafSpec.uris().dnsNames(SAN)).rootPem();
    client = XdsClient.builder()
        .channelFactory(XdsChannelFactory.tls("localhost:" + server.port(), otherRoot, SAN))
        .meterRegistry(registry)
        .build();
    client.start();
    await().atMost(Duration.ofSeconds(5)).until(() ->
        registry.find("istio_xds_connection_terminations").tag("reason", "ConnectionError").counter() != null);
    assertThat(server.requests).isEmpty();
  }

  private IssuedCertificate cert() {
    return ca.issue(LeafSpec.uris().dnsNames("unused"));
  }
}
