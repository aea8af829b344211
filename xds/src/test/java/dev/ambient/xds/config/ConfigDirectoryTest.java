package dev.ambient.xds.config;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ambient.xds.api.workload.Address;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConfigDirectoryTest {
  @TempDir Path dir;

  private void write(String name, String text) throws IOException {
    Path file = dir.resolve(name);
    Files.createDirectories(file.getParent());
    Files.writeString(file, text);
  }

  static final String WORKLOADS = """
      workloads:
      - uid: u1
        name: a
        namespace: ns
        network: net
        workloadIps: ["198.18.0.1", "2001:db8::1"]
        labels: {app: a}
      - uid: u2
        name: b
        namespace: ns
        workloadIps: ["198.18.0.2"]
        authorizationPolicies: [ns/explicit]
      services:
      - namespace: ns
        hostname: s.ns.svc.cluster.local
        vips: ["net/198.19.96.1"]
        cidrVips: [{network: net, cidr: "198.19.0.0/16"}]
      """;

  static final String POLICIES = """
      apiVersion: security.istio.io/v1
      kind: AuthorizationPolicy
      metadata: {name: only-a, namespace: ns}
      spec:
        selector: {matchLabels: {app: a}}
        rules: [{from: [{source: {principals: ["*"]}}]}]
      ---
      apiVersion: security.istio.io/v1beta1
      kind: PeerAuthentication
      metadata: {name: default, namespace: istio-system}
      spec: {mtls: {mode: STRICT}}
      """;

  @Test
  void load_mixesLocalConfigAndIstioObjectsAcrossFiles() throws IOException {
    write("a-workloads.yaml", WORKLOADS);
    write("sub/policies.yml", POLICIES);
    write("ignored.txt", "not: yaml config");
    write(".hidden.yaml", "bogus: 1");

    ConfigLoadResult r = ConfigDirectory.of(dir).load();

    assertThat(r.errors()).isEmpty();
    ConfigSnapshot s = r.snapshot();
    assertThat(s.addresses()).containsOnlyKeys("u1", "u2", "ns/s.ns.svc.cluster.local");
    assertThat(s.addresses().get("u1").getWorkload().getAuthorizationPoliciesList())
        .containsExactly("istio-system/istio_converted_static_strict", "ns/only-a");
    assertThat(s.addresses().get("u2").getWorkload().getAuthorizationPoliciesList())
        .containsExactly("istio-system/istio_converted_static_strict", "ns/explicit");
    assertThat(s.aliases()).containsEntry("u1", List.of("net/198.18.0.1", "net/2001:db8::1"))
        .containsEntry("u2", List.of("/198.18.0.2"))
        .containsEntry("ns/s.ns.svc.cluster.local", List.of("net/198.19.96.1", "net/198.19.0.0/16"));
    assertThat(s.policies()).containsOnlyKeys("ns/only-a", "istio-system/istio_converted_static_strict");
  }

  @Test
  void load_unchangedAddresses_comeBackAsTheSameInstances_changedOnesDoNot() throws IOException {
    write("a-workloads.yaml", WORKLOADS);
    write("b-more.yaml", """
        workloads:
        - uid: u3
          name: c
          namespace: ns
          workloadIps: ["198.18.0.3"]
          labels: {app: a}
        """);
    write("sub/policies.yml", POLICIES);
    ConfigDirectory config = ConfigDirectory.of(dir);
    ConfigSnapshot before = config.load().snapshot();

    // u3's file changes (and the selector no longer matches it); u1 (policy-bound) and u2 are untouched
    write("b-more.yaml", """
        workloads:
        - uid: u3
          name: c
          namespace: ns
          workloadIps: ["198.18.0.3"]
          labels: {app: other}
        """);
    ConfigSnapshot after = config.load().snapshot();

    assertThat(after.addresses().get("u1")).isSameAs(before.addresses().get("u1"));
    assertThat(after.addresses().get("u2")).isSameAs(before.addresses().get("u2"));
    assertThat(after.aliases().get("u1")).isSameAs(before.aliases().get("u1"));
    assertThat(after.addresses().get("u3")).isNotSameAs(before.addresses().get("u3"));
    assertThat(before.addresses().get("u3").getWorkload().getAuthorizationPoliciesList()).contains("ns/only-a");
    assertThat(after.addresses().get("u3").getWorkload().getAuthorizationPoliciesList())
        .containsExactly("istio-system/istio_converted_static_strict");
    // and the result is what a fresh loader makes of the same files
    assertThat(after).isEqualTo(ConfigDirectory.of(dir).load().snapshot());
  }

  @Test
  void warmUp_makesTheNextLoadRebuildOneFileInTenWithEqualContent() throws IOException {
    write("a-workloads.yaml", WORKLOADS);
    write("b-more.yaml", """
        workloads:
        - uid: u3
          name: c
          namespace: ns
          workloadIps: ["198.18.0.3"]
        """);
    write("sub/policies.yml", POLICIES);
    ConfigDirectory config = ConfigDirectory.of(dir);
    ConfigSnapshot before = config.load().snapshot();

    config.warmUp(); // round 0: the first file in path order (a-workloads.yaml) takes its new parse
    ConfigLoadResult first = config.load();

    assertThat(first.errors()).isEmpty();
    assertThat(first.snapshot()).isEqualTo(before);
    // the changed-file path ran for a-workloads.yaml: its addresses are new instances of equal content
    assertThat(first.snapshot().addresses().get("u1")).isNotSameAs(before.addresses().get("u1"))
        .isEqualTo(before.addresses().get("u1"));
    assertThat(first.snapshot().addresses().get("u3")).isSameAs(before.addresses().get("u3"));

    config.warmUp(); // round 1: the second file (b-more.yaml)
    ConfigSnapshot second = config.load().snapshot();

    assertThat(second).isEqualTo(before);
    assertThat(second.addresses().get("u1")).isSameAs(first.snapshot().addresses().get("u1"));
    assertThat(second.addresses().get("u3")).isNotSameAs(before.addresses().get("u3"));
  }

  @Test
  void warmUp_keepsAnEditedFilesLastGoodContentUntilTheNextLoad() throws IOException {
    write("a-workloads.yaml", WORKLOADS);
    ConfigDirectory config = ConfigDirectory.of(dir);
    ConfigSnapshot before = config.load().snapshot();
    write("a-workloads.yaml", "workloads: [");

    config.warmUp(); // parses what loaded last, not the file as it is now

    ConfigLoadResult r = config.load();
    assertThat(r.errors()).hasSize(1);
    assertThat(r.snapshot()).isEqualTo(before);
  }

  @Test
  void load_policyBindingChange_rebuildsTheWorkloadWhoseFileDidNotChange() throws IOException {
    write("a-workloads.yaml", WORKLOADS);
    write("sub/policies.yml", POLICIES);
    ConfigDirectory config = ConfigDirectory.of(dir);
    ConfigSnapshot before = config.load().snapshot();

    write("sub/policies.yml", POLICIES.replace("{app: a}", "{app: none}"));
    ConfigSnapshot after = config.load().snapshot();

    assertThat(before.addresses().get("u1").getWorkload().getAuthorizationPoliciesList()).contains("ns/only-a");
    assertThat(after.addresses().get("u1").getWorkload().getAuthorizationPoliciesList())
        .containsExactly("istio-system/istio_converted_static_strict");
    assertThat(after.addresses().get("u2")).isSameAs(before.addresses().get("u2"));
  }

  @Test
  void load_fileWithAnOldUnchangedStat_isNotReadAgain_anyStatChangeIsRead() throws IOException {
    write("w.yaml", "workloads: [{uid: one}]");
    Path file = dir.resolve("w.yaml");
    FileTime anHourAgo = FileTime.fromMillis(System.currentTimeMillis() - 3_600_000);
    Files.setLastModifiedTime(file, anHourAgo);
    ConfigDirectory config = ConfigDirectory.of(dir);
    assertThat(config.load().snapshot().addresses()).containsOnlyKeys("one");

    // same size, same inode, same (old) mtime: indistinguishable by stat, so not read (proves the skip)
    Files.writeString(file, "workloads: [{uid: two}]");
    Files.setLastModifiedTime(file, anHourAgo);
    assertThat(config.load().snapshot().addresses()).containsOnlyKeys("one");

    Files.setLastModifiedTime(file, FileTime.fromMillis(anHourAgo.toMillis() + 1));
    assertThat(config.load().snapshot().addresses()).containsOnlyKeys("two");
    assertThat(config.load().snapshot()).isEqualTo(ConfigDirectory.of(dir).load().snapshot());
  }

  @Test
  void load_fileModifiedWithinTheRacyWindow_isReadOnEveryLoad() throws IOException {
    write("w.yaml", "workloads: [{uid: one}]");
    Path file = dir.resolve("w.yaml");
    FileTime recent = Files.getLastModifiedTime(file);
    ConfigDirectory config = ConfigDirectory.of(dir);
    assertThat(config.load().snapshot().addresses()).containsOnlyKeys("one");

    // a rewrite within the same timestamp tick: same size and mtime, but the file was recent when read
    Files.writeString(file, "workloads: [{uid: two}]");
    Files.setLastModifiedTime(file, recent);

    assertThat(config.load().snapshot().addresses()).containsOnlyKeys("two");
  }

  @Test
  void load_badEdit_keepsTheFilesLastGoodContentAndReportsFileAndLine() throws IOException {
    write("w.yaml", WORKLOADS);
    ConfigDirectory config = ConfigDirectory.of(dir);
    ConfigSnapshot good = config.load().snapshot();

    write("w.yaml", WORKLOADS.replace("198.18.0.2", "198.18.0.300"));
    ConfigLoadResult r = config.load();

    assertThat(r.snapshot()).isEqualTo(good);
    assertThat(r.errors()).singleElement().satisfies(e -> {
      assertThat(e.file()).isEqualTo(dir.resolve("w.yaml"));
      assertThat(e.line()).isEqualTo(11);
      assertThat(e.reason()).contains("198.18.0.300");
      assertThat(e.toString()).startsWith(dir.resolve("w.yaml") + ":11:");
    });
  }

  @Test
  void load_badFileNeverGood_contributesNothing() throws IOException {
    write("good.yaml", "workloads: [{uid: g}]");
    write("bad.yaml", "workloads: [{uid: b, nope: 1}]");

    ConfigLoadResult r = ConfigDirectory.of(dir).load();

    assertThat(r.snapshot().addresses()).containsOnlyKeys("g");
    assertThat(r.errors()).singleElement().satisfies(e -> {
      assertThat(e.file()).isEqualTo(dir.resolve("bad.yaml"));
      assertThat(e.line()).isEqualTo(1);
      assertThat(e.reason()).contains("unknown field 'nope'");
    });
  }

  @Test
  void load_fixedFile_replacesTheLastGoodContent() throws IOException {
    write("w.yaml", "workloads: [{uid: one}]");
    ConfigDirectory config = ConfigDirectory.of(dir);
    config.load();
    write("w.yaml", "workloads: [{uid: two, bad: x}]");
    config.load();
    write("w.yaml", "workloads: [{uid: three}]");

    ConfigLoadResult r = config.load();

    assertThat(r.errors()).isEmpty();
    assertThat(r.snapshot().addresses()).containsOnlyKeys("three");
  }

  @Test
  void load_deletedFile_isForgotten() throws IOException {
    write("w.yaml", "workloads: [{uid: one}]");
    ConfigDirectory config = ConfigDirectory.of(dir);
    config.load();
    Files.delete(dir.resolve("w.yaml"));

    assertThat(config.load().snapshot()).isEqualTo(ConfigSnapshot.EMPTY);
  }

  @Test
  void load_duplicateNamesAcrossFiles_errorNamesBothFilesAndKeepsTheFirst() throws IOException {
    write("a.yaml", "workloads: [{uid: u, name: first}]");
    write("b.yaml", "\n---\nworkloads: [{uid: u, name: second}]");

    ConfigLoadResult r = ConfigDirectory.of(dir).load();

    Address kept = r.snapshot().addresses().get("u");
    assertThat(kept.getWorkload().getName()).isEqualTo("first");
    assertThat(r.errors()).singleElement().satisfies(e -> {
      assertThat(e.file()).isEqualTo(dir.resolve("b.yaml"));
      assertThat(e.line()).isEqualTo(3);
      assertThat(e.reason()).contains("duplicate workload 'u'").contains(dir.resolve("a.yaml").toString());
    });
  }

  @Test
  void load_duplicateIstioObjectsAndPolicyNames_areErrors() throws IOException {
    write("a.yaml", POLICIES);
    write("b.yaml", POLICIES.substring(0, POLICIES.indexOf("---")));
    write("c.yaml", "policies: [{name: only-a, namespace: ns, dryRun: false}]");

    ConfigLoadResult r = ConfigDirectory.of(dir).load();

    assertThat(r.errors()).extracting(ConfigError::reason).anySatisfy(m ->
        assertThat(m).contains("duplicate object 'AuthorizationPolicy/ns/only-a'")
            .contains(dir.resolve("a.yaml").toString()));
    assertThat(r.errors()).extracting(ConfigError::reason).anySatisfy(m ->
        assertThat(m).contains("duplicate policy 'ns/only-a'"));
  }

  @Test
  void load_unsupportedIstioPolicy_isAWarningAtItsFile() throws IOException {
    write("p.yaml", """
        apiVersion: security.istio.io/v1
        kind: AuthorizationPolicy
        metadata: {name: ext, namespace: ns}
        spec: {action: CUSTOM, provider: {name: x}}
        """);

    ConfigLoadResult r = ConfigDirectory.of(dir).load();

    assertThat(r.errors()).isEmpty();
    assertThat(r.snapshot().policies()).isEmpty();
    assertThat(r.warnings()).singleElement().satisfies(w -> {
      assertThat(w.file()).isEqualTo(dir.resolve("p.yaml"));
      assertThat(w.reason()).contains("CUSTOM");
    });
  }

  @Test
  void load_unknownKindOrApiVersion_isAnError() throws IOException {
    write("k.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n");
    write("l.yaml", "apiVersion: security.istio.io/v1\nkind: RequestAuthentication\nmetadata: {name: x}\n");

    ConfigLoadResult r = ConfigDirectory.of(dir).load();

    assertThat(r.errors()).extracting(ConfigError::reason).containsExactly(
        "unsupported apiVersion 'v1' (expected one of security.istio.io/v1, security.istio.io/v1beta1)",
        "unsupported kind 'RequestAuthentication' (expected AuthorizationPolicy or PeerAuthentication)");
  }

  @Test
  void load_yamlSyntaxError_reportsItsLine() throws IOException {
    write("s.yaml", "workloads:\n- uid: a\n  name: [unclosed\n");

    ConfigLoadResult r = ConfigDirectory.of(dir).load();

    assertThat(r.errors()).singleElement().satisfies(e -> assertThat(e.line()).isGreaterThanOrEqualTo(3));
  }

  @Test
  void load_missingDirectory_isAnErrorNotAnException() {
    ConfigLoadResult r = ConfigDirectory.of(dir.resolve("nope")).load();

    assertThat(r.errors()).singleElement().satisfies(e -> assertThat(e.reason()).contains("cannot list"));
    assertThat(r.snapshot()).isEqualTo(ConfigSnapshot.EMPTY);
  }

  @Test
  void load_customRootNamespace_makesItsPoliciesGlobal() throws IOException {
    write("p.yaml", "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: p, namespace: root}\n");

    ConfigSnapshot s = ConfigDirectory.of(dir, "root").load().snapshot();

    assertThat(s.policies().get("root/p").getScope()).isEqualTo(dev.ambient.xds.api.security.Scope.GLOBAL);
  }
}
