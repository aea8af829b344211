package dev.ambient.lab;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class CniInvocationTest {
  private static final CniInvocation.Sandbox SANDBOX = new CniInvocation.Sandbox("shop", "web-1", "alb0001-shop-web-1",
      Path.of("/var/run/netns/alb0001-shop-web-1"), "198.18.2.5", "198.18.2.1");
  private static final String INSTALLED = """
      {"cniVersion":"0.4.0","name":"k8s-pod-network","plugins":[{"type":"lab-ptp"},
       {"type":"istio-cni","name":"istio-cni","cni_agent_run_dir":"/run/x/run","ambient_enabled":true}]}""";

  @Test
  void theInstalledEntryIsFoundAndTheLabsOwnListHasNone() {
    assertThat(CniInvocation.pluginEntry(INSTALLED)).get()
        .satisfies(e -> assertThat(e.path("cni_agent_run_dir").asText()).isEqualTo("/run/x/run"));
    assertThat(CniInvocation.pluginEntry(CniInvocation.PRIMARY_CONFLIST)).isEmpty();
    assertThat(CniInvocation.pluginEntry("not json")).isEmpty();
    assertThat(CniInvocation.pluginEntry("{\"plugins\":\"x\"}")).isEmpty();
  }

  @Test
  void stdinIsTheEntryWithTheListsVersionAndNameAndThePrimaryResultAsPrevResult() throws Exception {
    var entry = CniInvocation.pluginEntry(INSTALLED).orElseThrow();

    JsonNode c = CniInvocation.JSON.readTree(CniInvocation.stdin(INSTALLED, entry, SANDBOX));

    assertThat(c.path("cniVersion").asText()).isEqualTo("0.4.0");
    assertThat(c.path("name").asText()).isEqualTo("k8s-pod-network");
    assertThat(c.path("type").asText()).isEqualTo("istio-cni");
    assertThat(c.path("cni_agent_run_dir").asText()).isEqualTo("/run/x/run");
    JsonNode prev = c.path("prevResult");
    assertThat(prev.path("ips").get(0).path("address").asText()).isEqualTo("198.18.2.5/32");
    assertThat(prev.path("ips").get(0).path("gateway").asText()).isEqualTo("198.18.2.1");
    assertThat(prev.path("interfaces").get(0).path("sandbox").asText()).isEqualTo("/var/run/netns/alb0001-shop-web-1");
  }

  @Test
  void theDefaultEntryHasTheAgentsKeysAndPointsAtTheNodesRunDir() {
    var e = CniInvocation.defaultEntry(Path.of("/run/ambient-lab/nodes/node-0/run"));
    assertThat(e.path("type").asText()).isEqualTo("istio-cni");
    assertThat(e.path("ambient_enabled").asBoolean()).isTrue();
    assertThat(e.path("cni_agent_run_dir").asText()).isEqualTo("/run/ambient-lab/nodes/node-0/run");
    assertThat(e.path("exclude_namespaces").get(0).asText()).isEqualTo("kube-system");
  }

  @Test
  void theEnvironmentIsWhatContainerdSets() {
    var env = CniInvocation.env("ADD", SANDBOX, Path.of("/opt/cni/bin"));
    assertThat(env).containsEntry("CNI_COMMAND", "ADD").containsEntry("CNI_IFNAME", "eth0")
        .containsEntry("CNI_NETNS", "/var/run/netns/alb0001-shop-web-1")
        .containsEntry("CNI_CONTAINERID", "alb0001-shop-web-1").containsEntry("CNI_PATH", "/opt/cni/bin");
    assertThat(env.get("CNI_ARGS")).contains("K8S_POD_NAMESPACE=shop").contains("K8S_POD_NAME=web-1")
        .startsWith("IgnoreUnknown=1;");
  }

  @Test
  void errorResultsBecomeOneLine() {
    assertThat(CniInvocation.errorText("{\"cniVersion\":\"1.0.0\",\"code\":999,\"msg\":\"istio-cni cmdAdd failed\","
        + "\"details\":\"connection refused\"}")).isEqualTo("istio-cni cmdAdd failed: connection refused");
    assertThat(CniInvocation.errorText("{\"code\":7,\"msg\":\"bad\"}")).isEqualTo("bad");
    assertThat(CniInvocation.errorText("boom\n")).isEqualTo("boom");
    assertThat(CniInvocation.errorText("")).isEqualTo("(no output)");
  }
}
