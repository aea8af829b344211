package dev.ambient.xds.server;

import io.grpc.ServerServiceDefinition;
import java.net.InetAddress;
import java.nio.file.Path;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Optional;

/** What the control plane needs from its certificate authority. */
public interface ServingCa {
  /** A key and chain (leaf first) for the control plane's own TLS port. */
  Served issueServing(List<String> dnsNames, List<InetAddress> ipAddresses);

  /** The file clients verify the control plane with ({@code <state-dir>/root-cert.pem}). */
  Path rootCertFile();

  /** {@code istio.v1.auth.IstioCertificateService}, served on the same port; empty when not available. */
  Optional<ServerServiceDefinition> certificateService();

  /** A serving key and its chain, leaf first. */
  record Served(PrivateKey key, List<X509Certificate> chain) {
    public Served {
      chain = List.copyOf(chain);
    }
  }
}
