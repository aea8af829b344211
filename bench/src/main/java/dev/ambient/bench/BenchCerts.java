package dev.ambient.bench;

import dev.ambient.identity.HboneTls;
import dev.ambient.identity.SpiffeId;
import dev.ambient.identity.TlsOptions;
import dev.ambient.identity.WorkloadCertificate;
import dev.ambient.testing.TestCa;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Test certificates for the benchmarks: one CA, a client and a server workload. */
public final class BenchCerts {
  public static final String TRUST_DOMAIN = "cluster.local";
  public static final SpiffeId SERVER_ID = SpiffeId.of(TRUST_DOMAIN, "bench", "tunnel-server");
  public static final SpiffeId CLIENT_ID = SpiffeId.of(TRUST_DOMAIN, "bench", "tunnel-client");

  private BenchCerts() {}

  /**
   * Mints a CA and the two workload certificates into {@code dir}: {@code server/} and
   * {@code client/} (key.pem, cert-chain.pem, root-cert.pem each) and {@code haproxy/} (server.pem and
   * client.pem with chain then key, ca.pem).
   */
  public static void mint(Path dir) throws IOException {
    TestCa ca = TestCa.create(TRUST_DOMAIN);
    var server = ca.issue(SERVER_ID.toString());
    var client = ca.issue(CLIENT_ID.toString());
    server.writeTo(dir.resolve("server"));
    client.writeTo(dir.resolve("client"));
    Path hap = Files.createDirectories(dir.resolve("haproxy"));
    Files.writeString(hap.resolve("server.pem"), server.chainPem() + server.keyPem());
    Files.writeString(hap.resolve("client.pem"), client.chainPem() + client.keyPem());
    Files.writeString(hap.resolve("ca.pem"), server.rootPem());
  }

  /** Loads a workload directory written by {@link #mint}. */
  public static HboneTls load(Path dir) {
    try {
      WorkloadCertificate cert = WorkloadCertificate.fromPem(
          Files.readString(dir.resolve("key.pem")),
          Files.readString(dir.resolve("cert-chain.pem")),
          Files.readString(dir.resolve("root-cert.pem")));
      return HboneTls.create(cert, TlsOptions.DEFAULT);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** In-memory pair for in-process benchmarks: {@code [server, client]}. */
  public static HboneTls[] inMemory() {
    TestCa ca = TestCa.create(TRUST_DOMAIN);
    var server = ca.issue(SERVER_ID.toString());
    var client = ca.issue(CLIENT_ID.toString());
    return new HboneTls[] {
      HboneTls.create(WorkloadCertificate.fromPem(server.keyPem(), server.chainPem(), server.rootPem()), TlsOptions.DEFAULT),
      HboneTls.create(WorkloadCertificate.fromPem(client.keyPem(), client.chainPem(), client.rootPem()), TlsOptions.DEFAULT),
    };
  }
}
