package dev.ambient.xds.server;

import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import java.nio.file.Files;
import java.nio.file.Path;

/** The Kubernetes client of {@code --kube-token-review}. */
final class KubeClients {
  /** A review waits at most this long for the API server, so a CSR or stream start is not held longer. */
  static final int TIMEOUT_MILLIS = 5_000;

  private KubeClients() {}

  /**
   * fabric8's auto-configuration ({@code KUBECONFIG}, {@code ~/.kube/config}, in-cluster service
   * account), with short timeouts and one retry.
   *
   * @throws ControlPlaneException when there is no Kubernetes configuration at all
   */
  static KubernetesClient forTokenReview() {
    String kubeconfig = System.getenv("KUBECONFIG");
    boolean present = (kubeconfig != null && !kubeconfig.isEmpty())
        || Files.isRegularFile(Path.of(System.getProperty("user.home"), ".kube", "config"))
        || System.getenv("KUBERNETES_SERVICE_HOST") != null;
    if (!present) {
      throw new ControlPlaneException(ControlPlaneException.Reason.TOKENS,
          "--kube-token-review: no Kubernetes configuration (KUBECONFIG, ~/.kube/config, or in-cluster)");
    }
    Config config = new ConfigBuilder(Config.autoConfigure(null))
        .withConnectionTimeout(TIMEOUT_MILLIS).withRequestTimeout(TIMEOUT_MILLIS).withRequestRetryBackoffLimit(1)
        .build();
    return new KubernetesClientBuilder().withConfig(config).build();
  }
}
