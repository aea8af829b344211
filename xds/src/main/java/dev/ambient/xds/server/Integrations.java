package dev.ambient.xds.server;

import dev.ambient.identity.SpiffeId;
import dev.ambient.xds.ca.CaService;
import dev.ambient.xds.ca.CallerAuthenticator;
import dev.ambient.xds.ca.CertificateAuthority;
import dev.ambient.xds.ca.ServingCertificate;
import dev.ambient.xds.ca.StaticTokenAuthenticator;
import dev.ambient.xds.config.ConfigDirectory;
import dev.ambient.xds.config.ConfigError;
import dev.ambient.xds.config.ConfigLoadResult;
import io.grpc.ServerServiceDefinition;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.jspecify.annotations.Nullable;

/** Adapters from the config loader and the CA to the control plane's ports. */
final class Integrations {
  /** The trust domain of a generated root. */
  static final String TRUST_DOMAIN = "cluster.local";
  /** Lifetime of the control plane's serving certificate (re-issued at every start). */
  static final Duration SERVING_TTL = Duration.ofDays(365);
  /** Who a caller is when there is no --tokens file: a node proxy (loopback-only by default). */
  static final SpiffeId ANONYMOUS_NODE_PROXY = SpiffeId.of(TRUST_DOMAIN, "istio-system", "ztunnel");

  private Integrations() {}

  /** The directory loader of {@code dev.ambient.xds.config} (keeps each bad file's last good content). */
  static ConfigSource configSource(Path dir) {
    ConfigDirectory directory = ConfigDirectory.of(dir);
    return new ConfigSource() {
      @Override
      public LoadedConfig load() {
        ConfigLoadResult r = directory.load();
        return new LoadedConfig(r.snapshot().addresses(), r.snapshot().aliases(), r.snapshot().policies(),
            problems(r.errors()), problems(r.warnings()),
            new LoadedConfig.Changes(r.changes().addresses(), r.changes().policies()));
      }

      @Override
      public void warmUp() {
        directory.warmUp();
      }
    };
  }

  private static List<ConfigProblem> problems(List<ConfigError> errors) {
    return errors.stream().map(e -> new ConfigProblem(e.file(), e.line(), e.column(), e.reason())).toList();
  }

  /**
   * The CA: Istio's plug-in files from {@code caDir}, or a root generated once and kept in {@code
   * stateDir}; either way the root is written to {@code <stateDir>/root-cert.pem}. With a tokens
   * file, CA callers are authenticated by it ({@code <token> <spiffe-id> [node-proxy]} lines);
   * without one every caller is treated as a node proxy.
   */
  static ServingCa ca(@Nullable Path caDir, Path stateDir, @Nullable Path tokens) {
    CallerAuthenticator auth;
    try {
      auth = tokens != null ? StaticTokenAuthenticator.fromFile(tokens) : null;
    } catch (IllegalStateException e) {
      throw new ControlPlaneException(ControlPlaneException.Reason.TOKENS, e.getMessage(), e);
    }
    return caAuthenticatedBy(caDir, stateDir, auth);
  }

  /**
   * The CA as {@link #ca(Path, Path, Path)}, with callers authenticated by {@code authenticator} (the
   * Kubernetes TokenReview one, a tokens file); null treats every caller as a node proxy.
   */
  static ServingCa caAuthenticatedBy(@Nullable Path caDir, Path stateDir, @Nullable CallerAuthenticator authenticator) {
    CertificateAuthority ca;
    Path root = stateDir.resolve(CertificateAuthority.ROOT_CERT_FILE);
    try {
      if (caDir != null) {
        ca = CertificateAuthority.fromPluginFiles(caDir);
        Files.createDirectories(stateDir);
        Path tmp = Files.createTempFile(stateDir, ".root-cert", ".pem");
        Files.writeString(tmp, ca.trustBundle().toPem());
        Files.move(tmp, root, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
      } else {
        ca = CertificateAuthority.loadOrCreate(stateDir, TRUST_DOMAIN, Clock.systemUTC());
      }
    } catch (IllegalStateException | IOException e) {
      throw new ControlPlaneException(ControlPlaneException.Reason.CA, e.getMessage(), e);
    }
    CallerAuthenticator anonymous = headers -> new CallerAuthenticator.Caller(ANONYMOUS_NODE_PROXY, true);
    ServerServiceDefinition service = (authenticator != null ? CaService.of(ca, authenticator)
        : CaService.unauthenticated(ca, anonymous)).bindService();
    CertificateAuthority signer = ca;
    return new ServingCa() {
      @Override
      public Served issueServing(List<String> dnsNames, List<InetAddress> ipAddresses) {
        ServingCertificate c = signer.issueServing(dnsNames, ipAddresses, SERVING_TTL);
        return new Served(c.privateKey(), c.chain());
      }

      @Override
      public Path rootCertFile() {
        return root;
      }

      @Override
      public Optional<ServerServiceDefinition> certificateService() {
        return Optional.of(service);
      }
    };
  }
}
