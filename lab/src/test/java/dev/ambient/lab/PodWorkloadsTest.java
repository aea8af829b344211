package dev.ambient.lab;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ambient.xds.config.ConfigDirectory;
import dev.ambient.xds.config.ConfigLoadResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** The publishing rules (istio-ambient spec §4.3) as a table. */
class PodWorkloadsTest {
  private static final Map<String, String> ENABLED = Map.of(PodWorkloads.REDIRECTION, "enabled");

  private static PodWorkloads.PodFacts pod(List<String> ips, Map<String, String> labels,
      Map<String, String> annotations, String phase, boolean ready, boolean deleting) {
    return new PodWorkloads.PodFacts("shop", "web-1", "web", "node-1", ips, labels, annotations, phase, ready, deleting,
        false);
  }

  /** pod, then expected: published?, protocol, canonical name, revision, healthy. */
  static Stream<Arguments> table() {
    List<String> ip = List.of("198.18.2.5");
    return Stream.of(
        Arguments.of("no IP yet", pod(List.of(), Map.of(), ENABLED, "Pending", false, false), null, null, null, null),
        Arguments.of("succeeded", pod(ip, Map.of(), ENABLED, "Succeeded", false, false), null, null, null, null),
        Arguments.of("failed", pod(ip, Map.of(), Map.of(), "Failed", false, false), null, null, null, null),
        Arguments.of("running, not captured", pod(ip, Map.of(), Map.of(), "Running", true, false),
            "TCP", "web-1", "latest", true),
        Arguments.of("pending redirection is not HBONE",
            pod(ip, Map.of(), Map.of(PodWorkloads.REDIRECTION, "pending"), "Running", true, false),
            "TCP", "web-1", "latest", true),
        Arguments.of("captured", pod(ip, Map.of("app", "web", "version", "v2"), ENABLED, "Running", true, false),
            "HBONE", "web", "v2", true),
        Arguments.of("canonical labels win over app/version",
            pod(ip, Map.of("app", "web", "service.istio.io/canonical-name", "shopfront",
                "app.kubernetes.io/name", "x", "service.istio.io/canonical-revision", "r7", "version", "v2"),
                ENABLED, "Running", true, false),
            "HBONE", "shopfront", "r7", true),
        Arguments.of("app.kubernetes.io labels before app",
            pod(ip, Map.of("app", "web", "app.kubernetes.io/name", "store", "app.kubernetes.io/version", "3"),
                Map.of(), "Running", true, false),
            "TCP", "store", "3", true),
        Arguments.of("HBONE-capable sidecar", pod(ip, Map.of("networking.istio.io/tunnel", "http"), Map.of(),
            "Running", true, false), "HBONE", "web-1", "latest", true),
        Arguments.of("not ready", pod(ip, Map.of(), ENABLED, "Running", false, false),
            "HBONE", "web-1", "latest", false),
        Arguments.of("terminating", pod(ip, Map.of(), ENABLED, "Running", true, true),
            "HBONE", "web-1", "latest", false));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("table")
  void publishing(String name, PodWorkloads.PodFacts pod, @Nullable String protocol, @Nullable String canonicalName,
      @Nullable String revision, @Nullable Boolean healthy) {
    Optional<PodWorkloads.Workload> w = PodWorkloads.of(pod);
    if (protocol == null) {
      assertThat(w).isEmpty();
      return;
    }
    assertThat(w).isPresent();
    assertThat(w.get().protocol()).isEqualTo(protocol);
    assertThat(w.get().canonicalName()).isEqualTo(canonicalName);
    assertThat(w.get().canonicalRevision()).isEqualTo(revision);
    assertThat(w.get().healthy()).isEqualTo(healthy);
    assertThat(w.get().uid()).isEqualTo("Kubernetes//Pod/shop/web-1");
    assertThat(w.get().serviceAccount()).isEqualTo("web");
    assertThat(w.get().node()).isEqualTo("node-1");
  }

  @Test
  void aPodWithoutServiceAccountRunsAsDefault() {
    var p = new PodWorkloads.PodFacts("shop", "a", "", "node-0", List.of("198.18.1.2"), Map.of(), Map.of(), "Running",
        true, false, false);
    assertThat(PodWorkloads.of(p).orElseThrow().serviceAccount()).isEqualTo("default");
  }

  @Test
  void theYamlLoadsInTheControlPlaneAsTheSameWorkload(@TempDir Path dir) throws Exception {
    var p = new PodWorkloads.PodFacts("shop", "web-1", "web", "node-1", List.of("198.18.2.5"),
        Map.of("app", "web", "odd\"key", "v\\1"), ENABLED, "Running", true, false, false);
    Files.writeString(dir.resolve("w.yaml"), PodWorkloads.of(p).orElseThrow().yaml());

    ConfigLoadResult r = ConfigDirectory.of(dir).load();

    assertThat(r.errors()).isEmpty();
    var address = r.snapshot().addresses().get("Kubernetes//Pod/shop/web-1");
    assertThat(address).isNotNull();
    var w = address.getWorkload();
    assertThat(w.getName()).isEqualTo("web-1");
    assertThat(w.getServiceAccount()).isEqualTo("web");
    assertThat(w.getNode()).isEqualTo("node-1");
    assertThat(w.getTunnelProtocol().name()).isEqualTo("HBONE");
    assertThat(w.getCanonicalName()).isEqualTo("web");
    assertThat(w.getAddressesList()).hasSize(1);
  }
}
