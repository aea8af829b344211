package dev.ambient.cni.agent;

import dev.ambient.cni.agent.rules.RedirectionRules;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code ./ambient cni-agent}: the CNI node agent (istio-cni's node agent, spec §2). Flags fall back
 * to istio-cni's environment variables where one exists (spec §2.11).
 *
 * <p>Exit codes: 0 after a clean shutdown (SIGTERM/SIGINT), 1 when start-up fails, 2 for a usage error.
 */
@Command(name = "cni-agent", mixinStandardHelpOptions = true, sortOptions = false,
    description = {
        "Captures ambient pods of this node: in-pod redirection rules, the ZDS hand-off to ztunnel,",
        "the host probe SNAT, the pod annotation; serves the CNI plugin's /cmdadd and installs the plugin."})
public final class AgentMain implements Callable<Integer> {
  private static final Logger log = LoggerFactory.getLogger(AgentMain.class);

  @Option(names = "--node-name", defaultValue = "${env:NODE_NAME}", paramLabel = "NAME",
      description = "This node (env NODE_NAME); only its pods are handled.")
  @Nullable String nodeName;

  @Option(names = "--run-dir", defaultValue = "${env:CNI_AGENT_RUN_DIR:-/var/run/istio-cni}", paramLabel = "DIR",
      description = "Where pluginevent.sock is created (env CNI_AGENT_RUN_DIR; default ${DEFAULT-VALUE}).")
  Path runDir = Path.of("/var/run/istio-cni");

  @Option(names = "--zds-socket", defaultValue = "${env:ZTUNNEL_UDS_ADDRESS:-/var/run/ztunnel/ztunnel.sock}",
      paramLabel = "PATH", description = "The ZDS socket ztunnel connects to (env ZTUNNEL_UDS_ADDRESS; default ${DEFAULT-VALUE}).")
  Path zdsSocket = Path.of("/var/run/ztunnel/ztunnel.sock");

  @Option(names = "--host-netns", defaultValue = "${env:HOST_NETNS}", paramLabel = "PATH",
      description = "The node's netns for the host probe rules, e.g. /host/proc/1/ns/net (default: the agent's own).")
  @Nullable Path hostNetns;

  @Option(names = "--rules", paramLabel = "iptables|nftables|auto",
      description = "Rule backend (default: nftables when NATIVE_NFTABLES=true, else auto).")
  @Nullable String rules;

  @Option(names = "--dns-capture", defaultValue = "${env:AMBIENT_DNS_CAPTURE:-false}", arity = "0..1",
      description = "Redirect pod DNS to ztunnel's 15053 (env AMBIENT_DNS_CAPTURE; default ${DEFAULT-VALUE}).")
  boolean dnsCapture;

  @Option(names = "--excluded-namespaces", defaultValue = "${env:EXCLUDE_NAMESPACES:-kube-system,istio-system}",
      split = ",", paramLabel = "NS", description = "Never ambient (env EXCLUDE_NAMESPACES; default ${DEFAULT-VALUE}).")
  List<String> excludedNamespaces = List.of("kube-system", "istio-system");

  @Option(names = "--pod-namespace", defaultValue = "${env:POD_NAMESPACE:-istio-system}", paramLabel = "NS",
      description = "The agent's own namespace, written into the plugin config (env POD_NAMESPACE).")
  String podNamespace = "istio-system";

  @Option(names = "--cni-bin-dir", defaultValue = "${env:MOUNTED_CNI_BIN_DIR:-/opt/cni/bin}", paramLabel = "DIR",
      description = "Where the plugin is installed (env MOUNTED_CNI_BIN_DIR; default ${DEFAULT-VALUE}).")
  Path cniBinDir = Path.of("/opt/cni/bin");

  @Option(names = "--cni-net-dir", defaultValue = "${env:MOUNTED_CNI_NET_DIR:-/etc/cni/net.d}", paramLabel = "DIR",
      description = "The CNI config dir to chain into (env MOUNTED_CNI_NET_DIR; default ${DEFAULT-VALUE}).")
  Path cniNetDir = Path.of("/etc/cni/net.d");

  @Option(names = "--plugin-launcher", defaultValue = "${env:AMBIENT_CNI_PLUGIN_LAUNCHER}", paramLabel = "FILE",
      description = "The istio-cni plugin executable to install (env AMBIENT_CNI_PLUGIN_LAUNCHER).")
  @Nullable Path pluginLauncher;

  @Option(names = "--no-install", description = "Do not install the plugin or touch the CNI config.")
  boolean noInstall;

  @Option(names = "--kubeconfig", defaultValue = "${env:KUBECONFIG}", paramLabel = "FILE",
      description = "Kubeconfig file (env KUBECONFIG; default: in-cluster config).")
  @Nullable Path kubeconfig;

  @Option(names = "--master", paramLabel = "URL",
      description = "API server URL (overrides the kubeconfig's; plain http for the lab's mock API server).")
  @Nullable String master;

  @Option(names = "--status-subresource", negatable = true, defaultValue = "true", fallbackValue = "true",
      description = "Patch the annotation on pods/status as istio does (--no-status-subresource for fabric8's mock).")
  boolean statusSubresource = true;

  @Option(names = "--node-field-selector", negatable = true, defaultValue = "true", fallbackValue = "true",
      description = "Ask the API server for spec.nodeName=<node> pods only (--no-node-field-selector for the mock).")
  boolean nodeFieldSelector = true;

  @Option(names = "--kubelet-uid", paramLabel = "UID",
      description = "The kubelet's uid for the nftables probe SNAT (default: found under /proc, else 0).")
  @Nullable Integer kubeletUid;

  @Option(names = "--healthz-port", defaultValue = "8000", paramLabel = "PORT",
      description = "/healthz and /readyz (default ${DEFAULT-VALUE}; 0 for any free port, -1 for none).")
  int healthzPort = 8000;

  public static void main(String[] args) {
    System.exit(run(args));
  }

  static int run(String... args) {
    return new CommandLine(new AgentMain())
        .setExecutionExceptionHandler((e, cmd, parsed) -> {
          cmd.getErr().println("cni-agent: " + (e.getMessage() == null ? e.toString() : e.getMessage()));
          return 1;
        })
        .execute(args);
  }

  /** The parsed options as a configuration; a bad value is an {@link IllegalArgumentException}. */
  AgentConfig config() {
    if (nodeName == null || nodeName.isBlank()) {
      throw new IllegalArgumentException("--node-name (or NODE_NAME) is required");
    }
    Set<String> excluded = new LinkedHashSet<>();
    excludedNamespaces.stream().map(String::strip).filter(s -> !s.isEmpty()).forEach(excluded::add);
    return new AgentConfig(nodeName, runDir, zdsSocket, hostNetns, rulesKind(rules, System.getenv("NATIVE_NFTABLES")),
        RedirectionRules.Options.defaults().withDnsCapture(dnsCapture), excluded, !noInstall, cniBinDir, cniNetDir,
        pluginLauncher, podNamespace, kubeletUid, statusSubresource, nodeFieldSelector,
        healthzPort < 0 ? null : new InetSocketAddress(healthzPort), Duration.ofSeconds(15));
  }

  static RulesBackend.Kind rulesKind(@Nullable String flag, @Nullable String nativeNftables) {
    if (flag == null || flag.isBlank()) {
      return "true".equalsIgnoreCase(nativeNftables == null ? "" : nativeNftables.strip())
          ? RulesBackend.Kind.NFTABLES : RulesBackend.Kind.AUTO;
    }
    try {
      return RulesBackend.Kind.valueOf(flag.strip().toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("--rules must be iptables, nftables or auto, not '" + flag + "'");
    }
  }

  /** The fabric8 client for {@code --kubeconfig} / {@code --master}, else the in-cluster config. */
  KubernetesClient client() throws IOException {
    Config config;
    if (kubeconfig != null) {
      config = Config.fromKubeconfig(Files.readString(kubeconfig));
    } else if (master != null) {
      config = Config.empty();
    } else {
      config = Config.autoConfigure(null);
    }
    ConfigBuilder b = new ConfigBuilder(config).withRequestTimeout(10_000);
    if (master != null) {
      b.withMasterUrl(master);
    }
    return new KubernetesClientBuilder().withConfig(b.build()).build();
  }

  @Override
  public Integer call() throws Exception {
    AgentConfig config = config();
    if (config.install() && config.pluginLauncher() == null) {
      throw new IllegalArgumentException("installing the plugin needs --plugin-launcher (or use --no-install)");
    }
    KubernetesClient client = client();
    AgentDaemon daemon;
    try {
      daemon = AgentDaemon.start(config, client);
    } catch (Exception e) {
      client.close();
      throw e;
    }
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(Thread.ofPlatform().unstarted(() -> {
      log.info("cni-agent shutting down");
      daemon.close();
      client.close();
      stopped.countDown();
    }));
    stopped.await();
    return 0;
  }
}
