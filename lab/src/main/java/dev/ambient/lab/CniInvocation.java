package dev.ambient.lab;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * What a container runtime hands the {@code istio-cni} plugin (CNI spec; istio-ambient spec §1.4–§1.5);
 * pure. The lab is the runtime and the primary ("ptp") plugin: it has already set up the pod's
 * interface, so the chain's {@code istio-cni} entry gets that as {@code prevResult}.
 */
final class CniInvocation {
  static final ObjectMapper JSON = new ObjectMapper();
  static final String PLUGIN_TYPE = "istio-cni";
  /** The lab's primary network: the lab itself plays the ptp plugin, so the list starts with it. */
  static final String PRIMARY_CONFLIST_NAME = "10-lab.conflist";
  static final String PRIMARY_CONFLIST =
      "{\"cniVersion\":\"1.0.0\",\"name\":\"lab\",\"plugins\":[{\"type\":\"lab-ptp\"}]}\n";

  private CniInvocation() {}

  /** The pod whose sandbox is being set up. */
  record Sandbox(String namespace, String name, String containerId, Path netns, String ip, String gateway) {}

  /**
   * The {@code istio-cni} entry the node agent's installer would add (spec §1.4), used when the chain on
   * the node has none yet (no agent has installed itself): the ADD then fails closed at the agent call.
   */
  static ObjectNode defaultEntry(Path runDir) {
    ObjectNode e = JSON.createObjectNode();
    e.put("name", PLUGIN_TYPE);
    e.put("type", PLUGIN_TYPE);
    e.put("plugin_log_level", "info");
    e.put("cni_agent_run_dir", runDir.toString());
    e.put("ambient_enabled", true);
    e.putArray("exclude_namespaces").add("kube-system");
    e.put("pod_namespace", "istio-system");
    e.putObject("dns");
    e.putObject("ipam");
    return e;
  }

  /**
   * The {@code istio-cni} entry of a conflist (the node's chosen CNI config), or empty when the list has
   * none or cannot be read.
   */
  static Optional<ObjectNode> pluginEntry(String conflist) {
    try {
      JsonNode root = JSON.readTree(conflist);
      if (root != null && root.get("plugins") instanceof ArrayNode plugins) {
        for (JsonNode p : plugins) {
          if (p instanceof ObjectNode o && PLUGIN_TYPE.equals(o.path("type").asText())) {
            return Optional.of(o.deepCopy());
          }
        }
      }
      return Optional.empty();
    } catch (JsonProcessingException e) {
      return Optional.empty();
    }
  }

  /** The list's {@code cniVersion} and {@code name}, as runtimes copy them into each plugin's config. */
  static String stdin(String conflist, ObjectNode entry, Sandbox s) {
    String version = "1.0.0";
    String name = "lab";
    try {
      JsonNode root = JSON.readTree(conflist);
      if (root != null) {
        version = root.path("cniVersion").asText(version);
        name = root.path("name").asText(name);
      }
    } catch (JsonProcessingException e) {
      // the defaults above
    }
    ObjectNode c = entry.deepCopy();
    c.put("cniVersion", version);
    c.put("name", name);
    ObjectNode prev = c.putObject("prevResult");
    prev.put("cniVersion", version);
    ObjectNode itf = prev.putArray("interfaces").addObject();
    itf.put("name", "eth0");
    itf.put("sandbox", s.netns().toString());
    ObjectNode ip = prev.putArray("ips").addObject();
    ip.put("address", s.ip() + "/32");
    ip.put("gateway", s.gateway());
    ip.put("interface", 0);
    prev.putArray("routes").addObject().put("dst", "0.0.0.0/0").put("gw", s.gateway());
    return c.toString();
  }

  /** The CNI environment for {@code command} (ADD, DEL) with containerd's CNI_ARGS keys. */
  static Map<String, String> env(String command, Sandbox s, Path binDir) {
    Map<String, String> env = new LinkedHashMap<>();
    env.put("CNI_COMMAND", command);
    env.put("CNI_CONTAINERID", s.containerId());
    env.put("CNI_NETNS", s.netns().toString());
    env.put("CNI_IFNAME", "eth0");
    env.put("CNI_PATH", binDir.toString());
    env.put("CNI_ARGS", "IgnoreUnknown=1;K8S_POD_NAMESPACE=" + s.namespace() + ";K8S_POD_NAME=" + s.name()
        + ";K8S_POD_INFRA_CONTAINER_ID=" + s.containerId());
    return env;
  }

  /** A one-line reason from a CNI error result ({@code msg: details}), or the raw output. */
  static String errorText(String stdout) {
    try {
      JsonNode r = JSON.readTree(stdout);
      if (r != null && r.has("msg")) {
        String details = r.path("details").asText("");
        return r.path("msg").asText() + (details.isEmpty() ? "" : ": " + details);
      }
    } catch (JsonProcessingException e) {
      // not a CNI result
    }
    return stdout.strip().isEmpty() ? "(no output)" : stdout.strip();
  }
}
