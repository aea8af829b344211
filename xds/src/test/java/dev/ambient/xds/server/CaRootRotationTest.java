package dev.ambient.xds.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ambient.identity.SpiffeId;
import dev.ambient.identity.WorkloadCertificate;
import dev.ambient.xds.ca.CaClient;
import dev.ambient.xds.ca.CaException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * CA_ROOT_CA rotation (spec ztunnel §8.3): the control plane restarts on another CA (two state dirs, two
 * roots) while one CaClient keeps running; once the root file is swapped the way a ConfigMap update
 * swaps it (a new {@code ..data} directory behind a symlink), the next CSR verifies the server with
 * the new root.
 */
class CaRootRotationTest {
  @TempDir Path config;
  @TempDir Path stateA;
  @TempDir Path stateB;
  @TempDir Path mount;
  private ControlPlane cp;

  private ControlPlane start(Path state, int port) {
    cp = ControlPlane.builder().configDir(config).configSource(new FakeConfigSource(config))
        .ca(Integrations.ca(null, state, null))
        .listen(new InetSocketAddress(InetAddress.getLoopbackAddress(), port)).build().start();
    return cp;
  }

  @AfterEach
  void stop() {
    if (cp != null) {
      cp.close();
    }
  }

  /** Publishes {@code root} as kubelet publishes a ConfigMap: {@code root-cert.pem -> ..data/root-cert.pem}, data swapped atomically. */
  private void publish(Path root, String version) throws Exception {
    Path dir = Files.createDirectory(mount.resolve("..v" + version));
    Files.copy(root, dir.resolve("root-cert.pem"));
    Path tmp = mount.resolve("..data_tmp");
    Files.createSymbolicLink(tmp, dir.getFileName());
    Files.move(tmp, mount.resolve("..data"), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    if (!Files.exists(mount.resolve("root-cert.pem"), java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
      Files.createSymbolicLink(mount.resolve("root-cert.pem"), Path.of("..data/root-cert.pem"));
    }
  }

  private static X509Certificate cert(Path pem) throws Exception {
    try (InputStream in = Files.newInputStream(pem)) {
      return (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in);
    }
  }

  @Test
  void controlPlaneOnANewRoot_nextCsrUsesTheRotatedRootFile() throws Exception {
    SpiffeId id = SpiffeId.of("cluster.local", "ns", "sa");
    start(stateA, 0);
    int port = cp.address().getPort();
    publish(stateA.resolve("root-cert.pem"), "1");
    try (CaClient client = CaClient.builder().address("127.0.0.1:" + port).rootCertFile(mount.resolve("root-cert.pem"))
        .authorityOverride(ControlPlane.ISTIOD_NAME).sharedMode(true).build()) {
      WorkloadCertificate first = client.fetch(id).get(10, TimeUnit.SECONDS);
      first.chain().getLast().verify(cert(stateA.resolve("root-cert.pem")).getPublicKey());

      cp.close();
      start(stateB, port);
      assertThat(cert(stateB.resolve("root-cert.pem"))).isNotEqualTo(cert(stateA.resolve("root-cert.pem")));
      // Still trusting root A: the new server is not verified, the CSR fails (and SecretManager retries).
      assertThatThrownBy(() -> client.fetch(id).get(10, TimeUnit.SECONDS))
          .isInstanceOf(ExecutionException.class).cause().isInstanceOfSatisfying(CaException.class,
              e -> assertThat(e.reason()).isEqualTo(CaException.Reason.CA_CALL_FAILED));

      publish(stateB.resolve("root-cert.pem"), "2");
      WorkloadCertificate second = client.fetch(id).get(10, TimeUnit.SECONDS);
      assertThat(second.identity()).isEqualTo(id);
      second.chain().getLast().verify(cert(stateB.resolve("root-cert.pem")).getPublicKey());
    }
  }

  @Test
  void unusableRootFile_keepsTheWorkingChannel_andRetriesAtTheNextCsr() throws Exception {
    SpiffeId id = SpiffeId.of("cluster.local", "ns", "sa");
    start(stateA, 0);
    publish(stateA.resolve("root-cert.pem"), "1");
    try (CaClient client = CaClient.builder().address("127.0.0.1:" + cp.address().getPort())
        .rootCertFile(mount.resolve("root-cert.pem")).authorityOverride(ControlPlane.ISTIOD_NAME).sharedMode(true)
        .build()) {
      client.fetch(id).get(10, TimeUnit.SECONDS);
      Path broken = Files.writeString(mount.resolve("broken.pem"), "-----BEGIN CERTIFICATE-----\ntruncated");
      publish(broken, "2");
      // The broken file is not used: the old channel (root A) still verifies the server.
      assertThat(client.fetch(id).get(10, TimeUnit.SECONDS).identity()).isEqualTo(id);
      publish(stateA.resolve("root-cert.pem"), "3");
      assertThat(client.fetch(id).get(10, TimeUnit.SECONDS).identity()).isEqualTo(id);
    }
  }
}
