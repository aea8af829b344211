package dev.ambient.cni.agent;

import dev.ambient.cni.agent.rules.RedirectionRules;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * Everything the node agent is started with (from {@code AgentMain}'s flags and env, or a test).
 *
 * @param hostNetns the node's netns for host rules; null: this process's own
 * @param kubeletUid for the nftables probe SNAT; null: scan {@code /proc} (0 when no kubelet is found)
 * @param pluginLauncher the plugin executable to install; null: do not install (also when {@code install} is false)
 * @param statusSubresource patch the annotation on {@code pods/status} (a cluster) or on the pod (fabric8's mock)
 * @param serverFieldSelector ask the API server for this node's pods only (a cluster; the mock ignores it)
 * @param healthz the {@code /healthz} and {@code /readyz} address; null: no health server
 */
public record AgentConfig(
    String nodeName,
    Path runDir,
    Path zdsSocket,
    @Nullable Path hostNetns,
    RulesBackend.Kind rules,
    RedirectionRules.Options ruleOptions,
    Set<String> excludedNamespaces,
    boolean install,
    Path cniBinDir,
    Path cniNetDir,
    @Nullable Path pluginLauncher,
    String podNamespace,
    @Nullable Integer kubeletUid,
    boolean statusSubresource,
    boolean serverFieldSelector,
    @Nullable InetSocketAddress healthz,
    Duration zdsWait) {
  public AgentConfig {
    Objects.requireNonNull(nodeName, "nodeName");
    if (nodeName.isBlank()) {
      throw new IllegalArgumentException("the node name is required (--node-name or NODE_NAME)");
    }
    excludedNamespaces = Set.copyOf(excludedNamespaces);
  }

  public Path pluginEventSocket() {
    return runDir.resolve("pluginevent.sock");
  }

  /** The plugin's conflist entry for this configuration (spec §1.4). */
  java.util.Map<String, Object> pluginEntry() {
    return CniInstaller.pluginEntry(runDir, "info", true, EnablementSelector.DEFAULTS,
        List.copyOf(excludedNamespaces), podNamespace, false);
  }
}
