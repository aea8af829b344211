package dev.ambient.cni.agent;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ambient.cni.json.Json;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CniInstallerTest {
  static final String FLANNEL_LIST = """
      {"name":"cbr0","cniVersion":"1.0.0","plugins":[
        {"type":"flannel","delegate":{"hairpinMode":true,"isDefaultGateway":true}},
        {"type":"portmap","capabilities":{"portMappings":true}}]}""";
  static final String BRIDGE_CONF = """
      {"cniVersion":"0.3.1","name":"bridge","type":"bridge","bridge":"cni0",
       "ipam":{"type":"host-local","subnet":"198.18.0.0/24"}}""";

  @TempDir Path tmp;
  Path bin;
  Path net;
  Path launcher;
  CniInstaller installer;

  @BeforeEach
  void dirs() throws Exception {
    bin = Files.createDirectories(tmp.resolve("bin"));
    net = Files.createDirectories(tmp.resolve("net.d"));
    launcher = tmp.resolve("istio-cni-launcher");
    Files.writeString(launcher, "#!/bin/bash\necho launcher\n");
    Map<String, Object> entry = CniInstaller.pluginEntry(Path.of("/var/run/istio-cni"), "info", true,
        EnablementSelector.DEFAULTS, List.of("kube-system"), "istio-system", false);
    entry.put("cniVersion", "0.3.1");
    installer = new CniInstaller(bin, net, launcher, entry);
  }

  static List<Object> plugins(Path p) throws Exception {
    return Json.list(Json.parseObject(Files.readString(p)), "plugins");
  }

  @Test
  void appendsToTheFirstConflistAndKeepsEverythingElse() throws Exception {
    Path list = net.resolve("10-flannel.conflist");
    Files.writeString(list, FLANNEL_LIST);
    Files.setPosixFilePermissions(list, PosixFilePermissions.fromString("rw-r-----"));
    Files.writeString(net.resolve("20-other.conflist"), FLANNEL_LIST);

    assertThat(installer.reconcile()).isEqualTo(list);

    Map<String, Object> doc = Json.parseObject(Files.readString(list));
    assertThat(doc).containsEntry("name", "cbr0").containsEntry("cniVersion", "1.0.0");
    List<Object> plugins = Json.list(doc, "plugins");
    assertThat(plugins).hasSize(3);
    assertThat(plugins.subList(0, 2)).isEqualTo(Json.list(Json.parseObject(FLANNEL_LIST), "plugins"));
    Map<String, Object> ours = Json.asObject(plugins.get(2));
    assertThat(ours).containsEntry("type", "istio-cni").containsEntry("cni_agent_run_dir", "/var/run/istio-cni")
        .doesNotContainKey("cniVersion");
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(list))).isEqualTo("rw-r-----");
    assertThat(Files.readString(net.resolve("20-other.conflist"))).isEqualTo(FLANNEL_LIST);
    assertThat(Files.mismatch(installer.pluginPath(), launcher)).isEqualTo(-1);
    assertThat(Files.isExecutable(installer.pluginPath())).isTrue();
  }

  @Test
  void convertsASingleConfToAConflist() throws Exception {
    Files.writeString(net.resolve("10-bridge.conf"), BRIDGE_CONF);

    Path written = installer.reconcile();

    assertThat(written).isEqualTo(net.resolve("10-bridge.conflist"));
    assertThat(net.resolve("10-bridge.conf")).doesNotExist();
    Map<String, Object> doc = Json.parseObject(Files.readString(written));
    assertThat(doc).containsEntry("name", "k8s-pod-network").containsEntry("cniVersion", "0.3.1");
    assertThat(Json.list(doc, "plugins")).hasSize(2).first().isEqualTo(Json.parseObject(BRIDGE_CONF));
  }

  @Test
  void alreadyInstalledIsLeftAloneAndAnOldEntryIsReplaced() throws Exception {
    Path list = net.resolve("10-flannel.conflist");
    Files.writeString(list, FLANNEL_LIST.replace("]}", ",{\"type\":\"istio-cni\",\"name\":\"istio-cni\",\"old\":true}]}"));
    installer.reconcile();
    String once = Files.readString(list);
    assertThat(plugins(list)).hasSize(3).last().satisfies(p -> assertThat(Json.asObject(p)).doesNotContainKey("old"));
    long modified = Files.getLastModifiedTime(list).toMillis();

    assertThat(installer.reconcile()).isEqualTo(list);

    assertThat(Files.readString(list)).isEqualTo(once);
    assertThat(Files.getLastModifiedTime(list).toMillis()).isEqualTo(modified);
    assertThat(installer.rewrites()).isEqualTo(1);
  }

  @Test
  void nothingIsWrittenBeforeThePrimaryCniHasAConfig() throws Exception {
    Files.writeString(net.resolve("05-broken.conf"), "{\"name\":\"no type\"}");
    assertThat(installer.reconcile()).isNull();
    assertThat(installer.pluginPath()).doesNotExist();
  }

  @Test
  void watchRestoresTheEntryWhenAnotherComponentRemovesIt() throws Exception {
    Path list = net.resolve("10-flannel.conflist");
    Files.writeString(list, FLANNEL_LIST);
    Thread t = Thread.ofPlatform().daemon().start(() -> {
      try {
        installer.watch();
      } catch (Exception e) {
        throw new RuntimeException(e);
      }
    });
    try {
      Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> plugins(list).size() == 3);
      Files.writeString(list, FLANNEL_LIST); // the primary CNI rewrites its file
      Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> plugins(list).size() == 3);
      Files.delete(installer.pluginPath());
      Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> Files.exists(installer.pluginPath()));
    } finally {
      installer.close();
      t.join(5000);
    }
    assertThat(t.isAlive()).isFalse();
  }

  @Test
  void uninstallRemovesEntryAndBinary() throws Exception {
    Path list = net.resolve("10-flannel.conflist");
    Files.writeString(list, FLANNEL_LIST);
    installer.reconcile();

    installer.uninstall();

    assertThat(plugins(list)).isEqualTo(Json.list(Json.parseObject(FLANNEL_LIST), "plugins"));
    assertThat(installer.pluginPath()).doesNotExist();
  }
}
