package dev.ambient.ztunnel.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ambient.xds.client.Service;
import dev.ambient.xds.client.Workload;
import dev.ambient.xds.client.XdsUpdate;
import dev.ambient.ztunnel.ZtunnelConfig.LocalXds;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LocalXdsLoaderTest {
  static final String CONFIG = """
      workloads:
      - uid: cluster1//v1/Pod/default/local
        name: local
        namespace: default
        serviceAccount: default
        workloadIps: ["127.0.0.2"]
        protocol: HBONE
        node: local
        services:
          "default/example.com":
            80: 8080
      policies:
      - action: Deny
        rules:
        - - - destinationPorts:
              - 9999
        name: deny-9999
        namespace: default
        scope: Namespace
        dryRun: false
      services:
      - name: example
        namespace: default
        hostname: example.com
        vips:
        - /127.10.0.1
        ports:
          80: 8080
      """;

  @Test
  void noneGivesNothing() throws Exception {
    assertThat(LocalXdsLoader.load(new LocalXds.None())).isEmpty();
  }

  @Test
  void fileIsConvertedToRecords(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("local.yaml");
    Files.writeString(file, CONFIG);
    XdsUpdate update = LocalXdsLoader.load(new LocalXds.FromFile(file.toString())).orElseThrow();
    assertThat(update.addresses()).containsOnlyKeys("cluster1//v1/Pod/default/local", "default/example.com");
    assertThat(update.addresses().get("cluster1//v1/Pod/default/local"))
        .isInstanceOfSatisfying(Workload.class, w -> {
          assertThat(w.tunnelProtocol()).isEqualTo(Workload.TunnelProtocol.HBONE);
          assertThat(w.addresses()).extracting(a -> a.getHostAddress()).containsExactly("127.0.0.2");
        });
    assertThat(update.addresses().get("default/example.com")).isInstanceOf(Service.class);
    assertThat(update.authorizations()).containsOnlyKeys("default/deny-9999");
    assertThat(update.policiesChanged()).isTrue();
  }

  @Test
  void inlineYamlIsAccepted() throws Exception {
    assertThat(LocalXdsLoader.load(new LocalXds.Inline(CONFIG)).orElseThrow().addresses()).hasSize(2);
  }

  @Test
  void unreadableFileNamesThePath(@TempDir Path dir) {
    String missing = dir.resolve("nope.yaml").toString();
    assertThatThrownBy(() -> LocalXdsLoader.load(new LocalXds.FromFile(missing)))
        .isInstanceOf(LocalXdsLoader.LocalXdsException.class)
        .hasMessageContaining("LOCAL_XDS_PATH " + missing);
  }

  @Test
  void badDocumentNamesFileAndLine(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("bad.yaml");
    Files.writeString(file, "workloads:\n- name: x\n  namespace: default\n  workloadIps: [\"not-an-ip\"]\n");
    assertThatThrownBy(() -> LocalXdsLoader.load(new LocalXds.FromFile(file.toString())))
        .isInstanceOf(LocalXdsLoader.LocalXdsException.class)
        .hasMessageStartingWith(file + ":")
        .hasMessageContaining("not-an-ip");
  }
}
