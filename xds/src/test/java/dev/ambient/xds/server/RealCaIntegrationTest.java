package dev.ambient.xds.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ambient.identity.SpiffeId;
import dev.ambient.identity.WorkloadCertificate;
import dev.ambient.xds.ca.CaClient;
import dev.ambient.xds.client.XdsChannelFactory;
import dev.ambient.xds.client.XdsClient;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The control plane with the real CA: one TLS port for xDS and CreateCertificate, root in the state dir. */
class RealCaIntegrationTest {
  @TempDir Path config;
  @TempDir Path state;
  private ControlPlane cp;

  private ControlPlane start() {
    cp = ControlPlane.builder().configDir(config).configSource(new FakeConfigSource(config))
        .ca(Integrations.ca(null, state, null))
        .listen(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0)).build().start();
    return cp;
  }

  @AfterEach
  void stop() {
    if (cp != null) {
      cp.close();
    }
  }

  private X509Certificate root() throws Exception {
    try (InputStream in = Files.newInputStream(state.resolve("root-cert.pem"))) {
      return (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in);
    }
  }

  @Test
  void onePort_servesXdsAndCertificates_verifiedWithTheRootInTheStateDir() throws Exception {
    Files.writeString(config.resolve("a.yaml"), "workload c1//Pod/ns/a 198.18.0.10\n");
    start();
    String address = "127.0.0.1:" + cp.address().getPort();

    try (XdsClient xds = XdsClient.builder()
        .channelFactory(XdsChannelFactory.tls("https://" + address, state.resolve("root-cert.pem").toString(), null))
        .build()) {
      xds.start();
      xds.synced().get(10, TimeUnit.SECONDS);
      assertThat(xds.snapshot().addresses()).containsOnlyKeys("c1//Pod/ns/a");
    }

    SpiffeId id = SpiffeId.of("cluster.local", "ns", "sa");
    try (CaClient ca = CaClient.builder().address(address).rootCertFile(state.resolve("root-cert.pem"))
        .authorityOverride(ControlPlane.ISTIOD_NAME).sharedMode(true).build()) {
      WorkloadCertificate cert = ca.fetch(id).get(10, TimeUnit.SECONDS);
      assertThat(cert.identity()).isEqualTo(id);
      X509Certificate last = cert.chain().getLast();
      last.verify(root().getPublicKey());
    }
  }

  @Test
  void restart_keepsTheRoot() throws Exception {
    start();
    X509Certificate before = root();
    cp.close();
    start();
    assertThat(root()).isEqualTo(before);
    assertThat(Files.exists(state.resolve("ca-key.pem"))).isTrue();
    assertThat(List.of(before.getBasicConstraints())).containsExactly(Integer.MAX_VALUE);
  }
}
