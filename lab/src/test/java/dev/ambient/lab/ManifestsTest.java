package dev.ambient.lab;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code lab apply -f}: Services are split from the Istio documents, which keep their line numbers. */
class ManifestsTest {
  private static final String MIXED = """
      apiVersion: v1
      kind: Service
      metadata: {name: web, namespace: shop}
      spec:
        selector: {app: web}
        ports: [{port: 80, targetPort: 8080}]
      ---
      apiVersion: security.istio.io/v1
      kind: PeerAuthentication
      metadata: {name: strict, namespace: shop}
      spec:
        mtls: {mode: STRICT}
      """;

  @TempDir Path tmp;

  @Test
  void servicesAreTakenOutAndTheRestKeepsItsLines() {
    Manifests.Split s = Manifests.split(MIXED);

    assertThat(s.services()).singleElement().satisfies(svc -> {
      assertThat(svc.getMetadata().getName()).isEqualTo("web");
      assertThat(svc.getSpec().getPorts().getFirst().getTargetPort().getIntVal()).isEqualTo(8080);
    });
    assertThat(s.rest().lines().toList()).hasSize(MIXED.lines().toList().size());
    assertThat(s.rest().lines().toList().get(8)).isEqualTo("kind: PeerAuthentication");
    assertThat(s.rest()).doesNotContain("kind: Service");
    assertThat(s.hasRest()).isTrue();
  }

  @Test
  void aServicesOnlyFileHasNoRest() {
    Manifests.Split s = Manifests.split(MIXED.substring(0, MIXED.indexOf("---")));
    assertThat(s.services()).hasSize(1);
    assertThat(s.hasRest()).isFalse();
  }

  @Test
  void anIstioOnlyFileIsUntouched() {
    String istio = MIXED.substring(MIXED.indexOf("---") + 4);
    Manifests.Split s = Manifests.split(istio);
    assertThat(s.services()).isEmpty();
    assertThat(s.rest()).isEqualTo(istio);
  }

  @Test
  void anErrorInTheIstioPartNamesTheUsersLineAndNothingIsStored() throws Exception {
    Path file = Files.writeString(tmp.resolve("bad.yaml"), MIXED.replace("mtls:", "mtsl:"));
    LabState state = new LabState(tmp.resolve("state"));
    state.writeInfo(new LabState.Info(new LabLayout("alb0000", 1, 0), "http://198.18.0.1:1", "198.18.0.1:15012", 1));

    assertThatThrownBy(() -> Manifests.apply(file, state)).hasMessageContaining("not applied")
        .hasMessageContaining(file + ":12:");
    assertThat(state.configDir().resolve("applied/bad.yaml")).doesNotExist();
  }

  @Test
  void aBadServiceIsRefusedBeforeAnythingIsWritten() throws Exception {
    Path file = Files.writeString(tmp.resolve("svc.yaml"), MIXED.replace("port: 80,", "port: 0,"));
    LabState state = new LabState(tmp.resolve("state"));

    assertThatThrownBy(() -> Manifests.apply(file, state)).hasMessageContaining("port 0 is not a port");
    assertThat(state.configDir().resolve("applied/svc.yaml")).doesNotExist();
  }

  @Test
  void labelChangesSetAndRemove() {
    Map<String, @Nullable String> c = Pods.labelChanges(List.of("istio.io/dataplane-mode=ambient", "app-"));
    assertThat(c).containsEntry("istio.io/dataplane-mode", "ambient").containsEntry("app", null).hasSize(2);
    assertThatThrownBy(() -> Pods.labelChanges(List.of("app"))).hasMessageContaining("k=v or k-");
  }
}
