package dev.ambient.lab;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PolicyFilesTest {
  private static final String DENY = """
      apiVersion: security.istio.io/v1
      kind: AuthorizationPolicy
      metadata: {name: deny-intruder, namespace: default}
      spec:
        action: DENY
        rules:
        - from:
          - source: {principals: ["cluster.local/ns/default/sa/intruder"]}
      """;

  @TempDir Path tmp;

  @Test
  void aGoodPolicyIsWrittenIntoTheAppliedDirectoryAndReplacedOnReapply() throws Exception {
    Path file = Files.writeString(tmp.resolve("deny.yaml"), DENY);
    Path config = tmp.resolve("config");

    PolicyFiles.Applied r = PolicyFiles.apply(file, config);

    assertThat(r.target()).isEqualTo(config.resolve("applied/deny.yaml"));
    assertThat(Files.readString(r.target())).isEqualTo(DENY);
    assertThat(r.warnings()).isEmpty();

    Files.writeString(file, DENY.replace("intruder", "other"));
    PolicyFiles.apply(file, config);
    assertThat(Files.readString(r.target())).contains("sa/other");
    try (var s = Files.list(config.resolve("applied"))) {
      assertThat(s.toList()).containsExactly(r.target());
    }
  }

  @Test
  void aPolicyWithAnErrorIsRefusedWithTheUsersFileAndLineAndNothingIsWritten() throws Exception {
    Path file = Files.writeString(tmp.resolve("typo.yaml"), DENY.replace("principals", "principal"));
    Path config = tmp.resolve("config");

    assertThatThrownBy(() -> PolicyFiles.apply(file, config))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("not applied")
        .hasMessageContaining(file + ":");
    assertThat(config.resolve("applied/typo.yaml")).doesNotExist();
  }

  @Test
  void aPolicyOnlyAWaypointCouldEnforceIsAppliedWithAWarning() throws Exception {
    Path file = Files.writeString(tmp.resolve("l7.yaml"), """
        apiVersion: security.istio.io/v1
        kind: AuthorizationPolicy
        metadata: {name: get-only, namespace: default}
        spec:
          action: ALLOW
          rules:
          - to:
            - operation: {methods: ["GET"]}
        """);

    PolicyFiles.Applied r = PolicyFiles.apply(file, tmp.resolve("config"));

    assertThat(r.warnings()).isNotEmpty().allSatisfy(w -> assertThat(w).startsWith(file + ":"));
  }

  @Test
  void aMissingFileIsAClearError() {
    assertThatThrownBy(() -> PolicyFiles.apply(tmp.resolve("nope.yaml"), tmp))
        .hasMessageContaining("no such file");
  }
}
