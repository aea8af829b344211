package dev.ambient.xds.server;

import dev.ambient.testing.IssuedCertificate;
import dev.ambient.testing.LeafSpec;
import dev.ambient.testing.TestCa;
import io.grpc.ServerServiceDefinition;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/** A {@link ServingCa} over the test CA: writes its root to {@code <stateDir>/root-cert.pem}. */
final class FakeServingCa implements ServingCa {
  private final TestCa ca = TestCa.create("cluster.local");
  private final Path stateDir;

  FakeServingCa(Path stateDir) {
    this.stateDir = stateDir;
  }

  @Override
  public Served issueServing(List<String> dnsNames, List<InetAddress> ipAddresses) {
    IssuedCertificate c = ca.issue(LeafSpec.uris().dnsNames(dnsNames.toArray(String[]::new))
        .ipAddresses(ipAddresses.stream().map(InetAddress::getHostAddress).toArray(String[]::new)));
    try {
      Files.writeString(rootCertFile(), c.rootPem());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return new Served(c.privateKey(), c.chain());
  }

  @Override
  public Path rootCertFile() {
    return stateDir.resolve("root-cert.pem");
  }

  @Override
  public Optional<ServerServiceDefinition> certificateService() {
    return Optional.empty();
  }
}
