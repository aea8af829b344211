package dev.ambient.cni.plugin;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import dev.ambient.cni.agent.CmdAdd;
import dev.ambient.cni.agent.PluginEventServer;
import dev.ambient.cni.json.Json;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Runs the real {@link Main} in a child JVM, as a container runtime would: environment, config on
 * stdin, result on stdout, exit code. The agent is a real {@link PluginEventServer} on a temp unix
 * socket; the API server is a JDK HTTP server on loopback answering pod and namespace GETs.
 */
class PluginProcessTest {
  static final String PREV_1_0 = """
      {"cniVersion":"1.0.0","interfaces":[{"name":"eth0","mac":"aa:bb:cc:dd:ee:ff","sandbox":"/var/run/netns/t1"}],\
      "ips":[{"interface":0,"address":"198.18.0.5/24","gateway":"198.18.0.1"},\
      {"interface":0,"address":"2001:db8::5/64"}],"routes":[{"dst":"0.0.0.0/0"}],"dns":{"nameservers":["198.18.0.53"]}}""";

  @TempDir Path run;
  HttpServer api;
  final List<CmdAdd> received = new CopyOnWriteArrayList<>();
  volatile String podLabels = "{\"istio.io/dataplane-mode\":\"ambient\"}";

  @BeforeEach
  void fakeApiServer() throws IOException {
    api = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    api.createContext("/api/v1/namespaces/", ex -> {
      String path = ex.getRequestURI().getPath();
      String body = path.contains("/pods/")
          ? "{\"metadata\":{\"name\":\"web-1\",\"namespace\":\"shop\",\"labels\":" + podLabels
              + "},\"spec\":{\"containers\":[{\"name\":\"app\"}]}}"
          : "{\"metadata\":{\"name\":\"shop\",\"labels\":{}}}";
      byte[] b = body.getBytes(StandardCharsets.UTF_8);
      ex.sendResponseHeaders(200, b.length);
      ex.getResponseBody().write(b);
      ex.close();
    });
    api.start();
    Files.writeString(run.resolve("istio-cni-kubeconfig"), """
        apiVersion: v1
        kind: Config
        clusters:
        - cluster:
            server: http://127.0.0.1:%d
          name: local
        users:
        - name: istio-cni
          user:
            token: test-token
        """.formatted(api.getAddress().getPort()));
  }

  @AfterEach
  void stop() {
    api.stop(0);
  }

  String config(String version, String prevResult) {
    return """
        {"cniVersion":"%s","name":"k8s-pod-network","type":"istio-cni","plugin_log_level":"debug",
         "cni_agent_run_dir":"%s","ambient_enabled":true,"exclude_namespaces":["kube-system"],
         "pod_namespace":"istio-system","prevResult":%s}""".formatted(version, run, prevResult);
  }

  record Run(int exit, String stdout) {
    Map<String, Object> json() {
      return Json.parseObject(stdout);
    }
  }

  Run plugin(String command, String stdin, String pod) throws Exception {
    ProcessBuilder pb = new ProcessBuilder(ProcessHandle.current().info().command().orElse("java"),
        "-XX:TieredStopAtLevel=1", "-cp", System.getProperty("java.class.path"), Main.class.getName());
    pb.environment().put("CNI_COMMAND", command);
    pb.environment().put("CNI_CONTAINERID", "c0ffee");
    pb.environment().put("CNI_NETNS", "/var/run/netns/t1");
    pb.environment().put("CNI_IFNAME", "eth0");
    pb.environment().put("CNI_PATH", "/opt/cni/bin");
    pb.environment().put("CNI_ARGS", "IgnoreUnknown=1;K8S_POD_NAMESPACE=shop;K8S_POD_NAME=" + pod
        + ";K8S_POD_INFRA_CONTAINER_ID=c0ffee");
    pb.redirectError(ProcessBuilder.Redirect.DISCARD);
    Process p = pb.start();
    p.getOutputStream().write(stdin.getBytes(StandardCharsets.UTF_8));
    p.getOutputStream().close();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
    return new Run(p.exitValue(), out);
  }

  PluginEventServer agent(int failWith) throws IOException {
    return new PluginEventServer(run.resolve("pluginevent.sock"), add -> {
      received.add(add);
      if (failWith != 0) {
        throw new IOException("iptables exploded");
      }
    }).start();
  }

  @Test
  void addOfAmbientPodIsHandedToTheAgentAndPassesPrevResultThrough() throws Exception {
    try (PluginEventServer server = agent(0)) {
      Run r = plugin("ADD", config("1.0.0", PREV_1_0), "web-1");
      assertThat(r.exit()).isZero();
      assertThat(r.json()).isEqualTo(Json.parseObject(PREV_1_0));
      assertThat(received).hasSize(1);
      CmdAdd add = received.getFirst();
      assertThat(add.podName()).isEqualTo("web-1");
      assertThat(add.podNamespace()).isEqualTo("shop");
      assertThat(add.netns()).isEqualTo("/var/run/netns/t1");
      assertThat(add.ips()).extracting(ip -> ip.address().getHostAddress() + "/" + ip.prefixLength())
          .containsExactly("198.18.0.5/24", "2001:db8:0:0:0:0:0:5/64");
      assertThat(server.responses(200)).isEqualTo(1);
    }
    assertThat(Files.readString(run.resolve("istio-cni.log"))).contains("handed to the node agent");
  }

  @Test
  void addFailsWithCniErrorWhenTheAgentIsDown() throws Exception {
    Run r = plugin("ADD", config("1.0.0", PREV_1_0), "web-1");
    assertThat(r.exit()).isNotZero();
    Map<String, Object> err = r.json();
    assertThat(err).containsEntry("cniVersion", "1.0.0").containsKey("code");
    assertThat((String) err.get("msg")).startsWith("istio-cni cmdAdd failed to contact node Istio CNI agent")
        .contains("pluginevent.sock");
  }

  @Test
  void addFailsWhenTheAgentAnswers500() throws Exception {
    try (PluginEventServer server = agent(500)) {
      Run r = plugin("ADD", config("1.0.0", PREV_1_0), "web-1");
      assertThat(r.exit()).isNotZero();
      assertThat((String) r.json().get("msg")).contains("agent answered 500").contains("iptables exploded");
      assertThat(server.responses(500)).isEqualTo(1);
    }
  }

  @Test
  void nonAmbientPodPassesThroughWithoutTheAgent() throws Exception {
    podLabels = "{\"app\":\"web\"}";
    Run r = plugin("ADD", config("1.0.0", PREV_1_0), "web-1"); // no agent running: must not be needed
    assertThat(r.exit()).isZero();
    assertThat(r.json()).isEqualTo(Json.parseObject(PREV_1_0));
  }

  @Test
  void agentPodIsExemptBeforeAnyLookup() throws Exception {
    api.stop(0);
    String cfg = config("1.0.0", PREV_1_0).replace("\"pod_namespace\":\"istio-system\"", "\"pod_namespace\":\"shop\"");
    Run r = plugin("ADD", cfg, "istio-cni-node-x7k2p");
    assertThat(r.exit()).isZero();
    assertThat(received).isEmpty();
  }

  @Test
  void config040GetsAResultIn040Form() throws Exception {
    String prev040 = """
        {"cniVersion":"0.4.0","interfaces":[{"name":"eth0","sandbox":"/var/run/netns/t1"}],\
        "ips":[{"version":"4","interface":0,"address":"198.18.0.6/24","gateway":"198.18.0.1"}],"dns":{}}""";
    try (PluginEventServer server = agent(0)) {
      Run r = plugin("ADD", config("0.4.0", prev040), "web-1");
      assertThat(r.exit()).isZero();
      assertThat(r.json()).isEqualTo(Json.parseObject(prev040));
      assertThat(received).singleElement().satisfies(a -> assertThat(a.ips()).hasSize(1));
    }
  }

  @Test
  void delAndCheckSucceedWithoutTheAgent() throws Exception {
    Run del = plugin("DEL", config("1.0.0", PREV_1_0), "web-1");
    Run check = plugin("CHECK", config("1.0.0", PREV_1_0), "web-1");
    assertThat(del.exit()).isZero();
    assertThat(check.exit()).isZero();
    assertThat(received).isEmpty();
  }

  @Test
  void versionListsSupportedVersions() throws Exception {
    Run r = plugin("VERSION", "{\"cniVersion\":\"0.4.0\"}", "");
    assertThat(r.exit()).isZero();
    assertThat(r.json()).containsEntry("cniVersion", "0.4.0")
        .containsEntry("supportedVersions", List.of("0.3.0", "0.3.1", "0.4.0", "1.0.0"));
  }

  @Test
  void badConfigIsADecodingError() throws Exception {
    Run r = plugin("ADD", "{not json", "web-1");
    assertThat(r.exit()).isNotZero();
    assertThat(r.json()).containsEntry("msg", "cannot parse the network configuration");
    assertThat(r.json().get("code").toString()).isEqualTo("6");
  }
}
