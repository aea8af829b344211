package dev.ambient.cni.plugin;

import dev.ambient.cni.agent.EnablementSelector;
import dev.ambient.cni.agent.Enrollment;
import dev.ambient.cni.json.Json;
import dev.ambient.cni.json.JsonException;
import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * The {@code istio-cni} entry of the conflist as the runtime passes it on stdin (spec §1.4), with the
 * runtime-added {@code prevResult}.
 *
 * @param logFile {@code plugin_log_file} (our addition), default {@code <cni_agent_run_dir>/istio-cni.log}
 */
record PluginConfig(
    String cniVersion,
    String name,
    String logLevel,
    Path runDir,
    Path logFile,
    boolean ambientEnabled,
    Enrollment enrollment,
    String podNamespace,
    boolean detectionRetry,
    @Nullable Map<String, Object> prevResult) {

  static final Path DEFAULT_RUN_DIR = Path.of("/var/run/istio-cni");

  static PluginConfig parse(String stdin) throws CniError {
    Map<String, Object> m;
    try {
      m = Json.parseObject(stdin);
    } catch (JsonException e) {
      throw new CniError(CniError.DECODING_FAILURE, "cannot parse the network configuration", e.getMessage());
    }
    try {
      String version = Json.string(m, "cniVersion");
      if (version == null || version.isEmpty()) {
        throw new CniError(CniError.INVALID_NETWORK_CONFIG, "network configuration has no cniVersion");
      }
      if (!CniVersions.supported(version)) {
        throw new CniError(CniError.INCOMPATIBLE_VERSION, "incompatible CNI versions",
            "config is \"" + version + "\", plugin supports " + CniVersions.SUPPORTED);
      }
      String runDir = Json.string(m, "cni_agent_run_dir");
      Path run = runDir == null || runDir.isEmpty() ? DEFAULT_RUN_DIR : Path.of(runDir);
      String logFile = Json.string(m, "plugin_log_file");
      List<EnablementSelector> selectors = m.get("enablement_selectors") instanceof List<?> l
          ? EnablementSelector.fromJson(Json.asList(l)) : EnablementSelector.DEFAULTS;
      Set<String> excluded;
      if (m.get("exclude_namespaces") instanceof List<?> l) {
        excluded = new LinkedHashSet<>();
        for (Object o : l) {
          excluded.add(String.valueOf(o));
        }
      } else {
        excluded = Enrollment.DEFAULT_EXCLUDED_NAMESPACES;
      }
      Object prev = m.get("prevResult");
      if (prev != null && prev != Json.NULL && !(prev instanceof Map<?, ?>)) {
        throw new CniError(CniError.DECODING_FAILURE, "prevResult must be an object");
      }
      String name = Json.string(m, "name");
      String logLevel = Json.string(m, "plugin_log_level");
      String podNs = Json.string(m, "pod_namespace");
      return new PluginConfig(version, name == null ? "" : name,
          logLevel == null ? "info" : logLevel, run,
          logFile == null || logFile.isEmpty() ? run.resolve("istio-cni.log") : Path.of(logFile),
          Json.bool(m, "ambient_enabled", false), new Enrollment(selectors, excluded),
          podNs == null ? "" : podNs,
          Json.bool(m, "enable_ambient_detection_retry", false),
          prev instanceof Map<?, ?> p ? Json.asObject(p) : null);
    } catch (JsonException e) {
      throw new CniError(CniError.INVALID_NETWORK_CONFIG, "invalid istio-cni configuration", e.getMessage());
    }
  }

  Path eventSocket() {
    return runDir.resolve("pluginevent.sock");
  }

  Path kubeconfig() {
    return runDir.resolve("istio-cni-kubeconfig");
  }
}
