package dev.ambient.cni.plugin;

import dev.ambient.cni.agent.CmdAdd;
import dev.ambient.cni.agent.Enrollment;
import dev.ambient.cni.json.Json;
import dev.ambient.cni.json.JsonException;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * One CNI invocation: environment and stdin in, result (or error) JSON and exit code out. Pure
 * apart from the agent call, the API lookup and the log file, so tests can run it in-process as
 * well as through {@link Main}.
 *
 * <p>ADD follows spec §1.5: self-exemption of the agent's own pods, non-Kubernetes and excluded
 * namespaces pass through, then (when {@code ambient_enabled}) the pod and namespace are read and
 * {@link Enrollment} decides; an ambient pod is posted to the agent and ADD succeeds only on its 200.
 * DEL and CHECK succeed without network work (spec §1.6).
 */
final class CniPlugin {
  /** What to print on stdout and the exit code. */
  record Outcome(int exitCode, String stdout) {}

  /** Opens the API lookup from the kubeconfig (a seam for tests). */
  interface Lookups {
    PodLookup open(Path kubeconfig) throws IOException;
  }

  static final String AGENT_POD_PREFIX = "istio-cni-node-";

  private final Map<String, String> env;
  private final Lookups lookups;
  private final int retryAttempts;
  private final Duration retryInterval;

  CniPlugin(Map<String, String> env, Lookups lookups, int retryAttempts, Duration retryInterval) {
    this.env = env;
    this.lookups = lookups;
    this.retryAttempts = retryAttempts;
    this.retryInterval = retryInterval;
  }

  static CniPlugin forProcess() {
    return new CniPlugin(System.getenv(), KubeApiLookup::fromKubeconfig, 30, Duration.ofSeconds(1));
  }

  Outcome run(String stdin) {
    String command = env.getOrDefault("CNI_COMMAND", "");
    String version = versionOf(stdin);
    if (command.equals("VERSION")) {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("cniVersion", CniVersions.supported(version) ? version : CniVersions.LATEST);
      m.put("supportedVersions", new ArrayList<Object>(CniVersions.SUPPORTED));
      return new Outcome(0, Json.write(m));
    }
    PluginLog log = null;
    try {
      if (!List.of("ADD", "DEL", "CHECK").contains(command)) {
        throw new CniError(CniError.INVALID_ENVIRONMENT,
            command.isEmpty() ? "CNI_COMMAND is not set" : "unknown CNI_COMMAND " + command);
      }
      requireEnv(command);
      PluginConfig config = PluginConfig.parse(stdin);
      log = new PluginLog(config.logFile(), config.logLevel());
      CniArgs args = CniArgs.parse(env.getOrDefault("CNI_ARGS", ""));
      log.debug(command + " container " + env.getOrDefault("CNI_CONTAINERID", "")
          + " pod " + args.podNamespace() + "/" + args.podName());
      if (command.equals("ADD")) {
        long t0 = System.nanoTime();
        add(config, args, log);
        if (log.debugEnabled()) {
          log.debug("ADD took " + millis(t0) + " ms in main" + PluginLog.sinceLaunch());
        }
      }
      Map<String, Object> prev = config.prevResult();
      return new Outcome(0, Json.write(CniVersions.resultFor(prev == null ? Map.of() : prev, config.cniVersion())));
    } catch (CniError e) {
      if (log != null) {
        log.error(command + " failed: " + e.getMessage());
      }
      return new Outcome(1, e.toJson(CniVersions.supported(version) ? version : CniVersions.LATEST));
    } catch (RuntimeException e) {
      // the Go plugin recovers panics into errors; so do we
      if (log != null) {
        log.error(command + " failed unexpectedly: " + e);
      }
      return new Outcome(1, new CniError(CniError.INTERNAL, "istio-cni " + command + " failed: " + e)
          .toJson(CniVersions.supported(version) ? version : CniVersions.LATEST));
    }
  }

  private void requireEnv(String command) throws CniError {
    List<String> missing = new ArrayList<>();
    for (String k : List.of("CNI_CONTAINERID", "CNI_IFNAME")) {
      if (env.getOrDefault(k, "").isEmpty()) {
        missing.add(k);
      }
    }
    if (!command.equals("DEL") && env.getOrDefault("CNI_NETNS", "").isEmpty()) {
      missing.add("CNI_NETNS");
    }
    if (!missing.isEmpty()) {
      throw new CniError(CniError.INVALID_ENVIRONMENT, "required env variables " + missing + " missing");
    }
  }

  private void add(PluginConfig config, CniArgs args, PluginLog log) throws CniError {
    String ns = args.podNamespace();
    String name = args.podName();
    if (name.startsWith(AGENT_POD_PREFIX) && ns.equals(config.podNamespace())) {
      log.info("pod " + ns + "/" + name + " is the node agent itself; skipping");
      return;
    }
    if (ns.isEmpty() || name.isEmpty()) {
      log.debug("not a Kubernetes pod; skipping");
      return;
    }
    if (config.enrollment().excludedNamespace(ns)) {
      log.debug("namespace " + ns + " is excluded; skipping");
      return;
    }
    if (!config.ambientEnabled()) {
      return;
    }
    long tLookup = System.nanoTime();
    PodLookup.Facts facts = lookup(config, ns, name, log);
    log.debug("API lookup of " + ns + "/" + name + " took " + millis(tLookup) + " ms");
    if (facts == null) {
      return;
    }
    Enrollment.Decision d = config.enrollment().decide(facts.pod(), facts.namespaceLabels());
    if (!d.ambient()) {
      log.debug("pod " + ns + "/" + name + " is not ambient (" + d + ")");
      return;
    }
    CmdAdd body;
    try {
      Map<String, Object> prev = config.prevResult();
      body = new CmdAdd(env.getOrDefault("CNI_NETNS", ""), name, ns,
          CmdAdd.ipsFromResult(prev == null ? List.of() : Json.list(prev, "ips")));
    } catch (JsonException e) {
      throw new CniError(CniError.DECODING_FAILURE, "cannot read prevResult.ips", e.getMessage());
    }
    String failure;
    long tAgent = System.nanoTime();
    try {
      AgentClient.Response r = new AgentClient(config.eventSocket(), AgentClient.TIMEOUT).post("/cmdadd", body.toJson());
      if (r.status() == 200) {
        log.info("pod " + ns + "/" + name + " handed to the node agent (" + millis(tAgent) + " ms)");
        return;
      }
      failure = "agent answered " + r.status() + (r.body().isEmpty() ? "" : ": " + r.body());
    } catch (IOException e) {
      failure = "cannot reach " + config.eventSocket() + ": " + e.getMessage();
    }
    throw new CniError(CniError.INTERNAL, "istio-cni cmdAdd failed to contact node Istio CNI agent: " + failure);
  }

  /** The pod facts, or null to carry on as "not ambient" (fail open) when the lookup failed without retry mode. */
  private PodLookup.@Nullable Facts lookup(PluginConfig config, String ns, String name, PluginLog log) throws CniError {
    int attempts = config.detectionRetry() ? retryAttempts : 1;
    String last = "";
    for (int i = 1; i <= attempts; i++) {
      try {
        return lookups.open(config.kubeconfig()).lookup(ns, name);
      } catch (IOException | RuntimeException e) {
        last = e.getMessage() == null ? e.toString() : e.getMessage();
        log.error("ambient detection for " + ns + "/" + name + " failed (attempt " + i + "/" + attempts + "): " + last);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        last = "interrupted";
        break;
      }
      if (i < attempts) {
        try {
          Thread.sleep(retryInterval);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          break;
        }
      }
    }
    if (config.detectionRetry()) {
      throw new CniError(CniError.INTERNAL, "cannot tell whether pod " + ns + "/" + name + " is ambient: " + last);
    }
    return null;
  }

  private static String millis(long startNanos) {
    long micros = (System.nanoTime() - startNanos) / 1_000;
    return micros / 1000 + "." + (micros % 1000) / 100;
  }

  /** The cniVersion of stdin if it is readable JSON with one, else empty. */
  private static String versionOf(String stdin) {
    try {
      if (!stdin.isBlank() && Json.string(Json.parseObject(stdin), "cniVersion") instanceof String v) {
        return v;
      }
    } catch (JsonException e) {
      // reported by the config parse
    }
    return "";
  }
}
