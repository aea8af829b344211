package dev.ambient.xds.ca;

import io.grpc.Grpc;
import io.grpc.Server;
import io.grpc.ServerCredentials;
import io.grpc.TlsServerCredentials;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** A real grpc-netty TLS server on a loopback port serving one {@link CaService}. */
final class CaServer implements AutoCloseable {
  final CertificateAuthority ca;
  final Server server;

  private CaServer(CertificateAuthority ca, Server server) {
    this.ca = ca;
    this.server = server;
  }

  static CaServer start(CertificateAuthority ca, CaService service) throws IOException {
    ServingCertificate serving = ca.issueServing(
        List.of("istiod.istio-system.svc"), List.of(InetAddress.getLoopbackAddress()), Duration.ofHours(1));
    ServerCredentials creds = TlsServerCredentials.create(
        new ByteArrayInputStream(serving.chainPem().getBytes(StandardCharsets.US_ASCII)),
        new ByteArrayInputStream(serving.privateKeyPem().getBytes(StandardCharsets.US_ASCII)));
    Server server = Grpc.newServerBuilderForPort(0, creds).addService(service).build().start();
    return new CaServer(ca, server);
  }

  String address() {
    return InetAddress.getLoopbackAddress().getHostAddress() + ":" + server.getPort();
  }

  /** A client builder aimed at this server and trusting the CA's roots. */
  CaClient.Builder client() {
    return CaClient.builder().address(address()).rootCertPem(ca.trustBundle().toPem());
  }

  @Override
  public void close() throws InterruptedException {
    server.shutdownNow();
    server.awaitTermination(10, TimeUnit.SECONDS);
  }
}
