package dev.ambient.xds.server;

import dev.ambient.xds.ca.KubernetesTokenReviewAuthenticator;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code ./ambient control-plane --config DIR [--listen ADDR:PORT] [--ca-dir DIR] [--state-dir DIR]
 * [--tokens FILE | --kube-token-review [--token-audience AUD,...] [--trusted-node-accounts NS/SA,...]
 * [--cluster-id ID]]}: the standalone control plane (DESIGN.md §6).
 *
 * <p>Exit codes: 0 after a clean shutdown (SIGTERM/SIGINT), 1 when start-up fails (the message says
 * why), 2 for a usage error.
 */
@Command(name = "control-plane", mixinStandardHelpOptions = true, sortOptions = false,
    description = {
        "Serves delta ADS (Address, Authorization) and IstioCertificateService on one TLS port,",
        "from the *.yaml files under --config, pushing every change as a delta."})
public final class ControlPlaneMain implements Callable<Integer> {
  private static final Logger log = LoggerFactory.getLogger(ControlPlaneMain.class);

  @Option(names = "--config", required = true, paramLabel = "DIR",
      description = "Directory of *.yaml files (ztunnel local config and Istio policy kinds); watched for changes.")
  Path config;

  @Option(names = "--listen", paramLabel = "ADDR:PORT", defaultValue = "127.0.0.1:15012",
      description = "TLS address for xDS and the CA (default: ${DEFAULT-VALUE}; loopback only unless set).")
  String listen;

  @Option(names = "--ca-dir", paramLabel = "DIR",
      description = "Istio plug-in CA files (ca-cert.pem, ca-key.pem, root-cert.pem, cert-chain.pem); "
          + "without it a root is generated and kept in --state-dir.")
  @Nullable Path caDir;

  @Option(names = "--state-dir", paramLabel = "DIR", defaultValue = "${sys:user.home}/.local/state/ambient/control-plane",
      description = "Where the generated CA is kept and root-cert.pem is written for clients (default: ${DEFAULT-VALUE}).")
  Path stateDir;

  @Option(names = "--tokens", paramLabel = "FILE",
      description = "Accepted bearer tokens, one per line; without it every client is accepted.")
  @Nullable Path tokens;

  @Option(names = "--kube-token-review",
      description = "Authenticate xDS streams and CSRs as istiod does: a Kubernetes TokenReview of the bearer token "
          + "(the API server from KUBECONFIG, ~/.kube/config or the in-cluster service account). Excludes --tokens.")
  boolean kubeTokenReview;

  @Option(names = "--token-audience", paramLabel = "AUD", split = ",", defaultValue = "istio-ca",
      description = "With --kube-token-review: audiences the token must be for (istiod's TOKEN_AUDIENCES; "
          + "default: ${DEFAULT-VALUE}).")
  List<String> tokenAudiences;

  @Option(names = "--trusted-node-accounts", paramLabel = "NS/SA", split = ",", defaultValue = "istio-system/ztunnel",
      description = "With --kube-token-review: service accounts that may request certificates for other identities "
          + "(istiod's CA_TRUSTED_NODE_ACCOUNTS; default: ${DEFAULT-VALUE}).")
  List<String> trustedNodeAccounts;

  @Option(names = "--cluster-id", paramLabel = "ID", defaultValue = "Kubernetes",
      description = "With --kube-token-review: this cluster's id; a clusterid header naming another is refused "
          + "(default: ${DEFAULT-VALUE}).")
  String clusterId;

  public static void main(String[] args) {
    System.exit(run(args));
  }

  static int run(String... args) {
    return new CommandLine(new ControlPlaneMain())
        .setExecutionExceptionHandler((e, cmd, parsed) -> {
          if (e instanceof ControlPlaneException cpe) {
            cmd.getErr().println("control-plane: " + cpe.getMessage());
            return 1;
          }
          throw e;
        })
        .execute(args);
  }

  /** Builds and starts the control plane from the parsed options. */
  ControlPlane start() {
    if (!kubeTokenReview) {
      return StandaloneControlPlane.start(config, caDir, stateDir, tokens, parseListen(listen));
    }
    if (tokens != null) {
      throw new ControlPlaneException(ControlPlaneException.Reason.TOKENS,
          "--tokens and --kube-token-review exclude each other");
    }
    KubernetesClient client = KubeClients.forTokenReview();
    var settings = new KubernetesTokenReviewAuthenticator.Settings(Integrations.TRUST_DOMAIN, tokenAudiences,
        java.util.Set.copyOf(trustedNodeAccounts), clusterId);
    log.info("authenticating callers with TokenReview at {} ({})", client.getMasterUrl(), settings);
    return StandaloneControlPlane.startAuthenticated(config, caDir, stateDir,
        new KubernetesTokenReviewAuthenticator(client, settings), parseListen(listen));
  }

  @Override
  public Integer call() throws InterruptedException {
    ControlPlane cp = start();
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(Thread.ofPlatform().unstarted(() -> {
      log.info("control plane shutting down");
      cp.close();
      stopped.countDown();
    }));
    stopped.await();
    return 0;
  }

  /** Parses {@code ADDR:PORT} ({@code [v6]:PORT} for IPv6); the address must be a literal or resolvable. */
  static InetSocketAddress parseListen(String value) {
    int colon = value.lastIndexOf(':');
    if (colon <= 0 || colon == value.length() - 1) {
      throw new CommandLine.TypeConversionException("--listen wants ADDR:PORT, e.g. 127.0.0.1:15012, not '" + value + "'");
    }
    String host = value.substring(0, colon);
    if (host.startsWith("[") && host.endsWith("]")) {
      host = host.substring(1, host.length() - 1);
    }
    int port;
    try {
      port = Integer.parseInt(value.substring(colon + 1));
    } catch (NumberFormatException e) {
      throw new CommandLine.TypeConversionException("--listen port is not a number in '" + value + "'");
    }
    if (port < 0 || port > 65535) {
      throw new CommandLine.TypeConversionException("--listen port out of range in '" + value + "'");
    }
    try {
      return new InetSocketAddress(InetAddress.getByName(host), port);
    } catch (UnknownHostException e) {
      throw new ControlPlaneException(ControlPlaneException.Reason.LISTEN, "--listen: unknown host '" + host + "'", e);
    }
  }
}
