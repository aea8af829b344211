package dev.ambient.xds.server;

import dev.ambient.xds.ca.CallerAuthenticator;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import org.jspecify.annotations.Nullable;

/**
 * The control plane exactly as {@code ./ambient control-plane} builds it, for callers in other
 * modules (in-process tests, the lab): a config directory, the CA from plug-in files or a root kept
 * in the state directory ({@code <state-dir>/root-cert.pem} is written), optional bearer tokens.
 */
public final class StandaloneControlPlane {
  private StandaloneControlPlane() {}

  /**
   * Builds and starts the control plane.
   *
   * @param caDir Istio plug-in CA files, or null for a root kept in {@code stateDir}
   * @param tokens accepted bearer tokens ({@code <token> <spiffe-id> [node-proxy]} per line), or null
   *     to accept every caller
   */
  public static ControlPlane start(Path configDir, @Nullable Path caDir, Path stateDir, @Nullable Path tokens,
      InetSocketAddress listen) {
    ControlPlane.Builder b = ControlPlane.builder()
        .configDir(configDir)
        .configSource(Integrations.configSource(configDir))
        .ca(Integrations.ca(caDir, stateDir, tokens))
        .listen(listen);
    if (tokens != null) {
      b.tokens(tokens);
    }
    return b.build().start();
  }

  /**
   * Builds and starts the control plane with xDS streams and CSRs authenticated by {@code authenticator}
   * (e.g. {@link dev.ambient.xds.ca.KubernetesTokenReviewAuthenticator}, {@code --kube-token-review}).
   */
  public static ControlPlane startAuthenticated(Path configDir, @Nullable Path caDir, Path stateDir,
      CallerAuthenticator authenticator, InetSocketAddress listen) {
    return ControlPlane.builder()
        .configDir(configDir)
        .configSource(Integrations.configSource(configDir))
        .ca(Integrations.caAuthenticatedBy(caDir, stateDir, authenticator))
        .xdsAuthenticator(authenticator)
        .listen(listen)
        .build().start();
  }
}
