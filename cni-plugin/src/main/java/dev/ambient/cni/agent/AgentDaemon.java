package dev.ambient.cni.agent;

import dev.ambient.cni.agent.k8s.AmbientPodController;
import dev.ambient.cni.agent.rules.HostRules;
import dev.ambient.cni.agent.rules.IptablesRedirection;
import dev.ambient.cni.agent.rules.NftablesRedirection;
import dev.ambient.cni.agent.rules.RedirectionRules;
import dev.ambient.cni.agent.zds.ZdsServer;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.OptionalInt;
import java.util.concurrent.atomic.AtomicReference;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The running node agent: starts its parts in istio-cni's order (spec §2.1) and stops them
 * upgrade-safely (spec §2.10).
 *
 * <p>Start: health server (not ready), rule backend check, host probe rules (retried 10 x 2 s), ZDS
 * socket bound (not accepting), plugin event server (503 until ready), informers synced, start-up
 * reconcile of enrolled pods ({@link NodeAgent#restore}), ZDS accepting, plugin events answered,
 * then the CNI plugin installed, and only then {@code /readyz} 200.
 *
 * <p>Stop ({@link #close()}, e.g. on SIGTERM): the plugin event server and ZDS socket close (new
 * ambient pods fail their CNI ADD and are retried by the kubelet), the informers stop; pod rules,
 * host rules, the probe sets and the installed plugin stay, so running pods keep working and the
 * next agent picks them up. Full uninstall cleanup is not done here.
 */
public final class AgentDaemon implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(AgentDaemon.class);
  private static final int HOST_RULE_ATTEMPTS = 10;

  private final AgentConfig config;
  private volatile boolean serving;
  private volatile boolean ready;
  private @Nullable HealthServer health;
  private @Nullable ZdsServer zds;
  private @Nullable PluginEventServer events;
  private @Nullable AmbientPodController controller;
  private @Nullable NodeAgent agent;
  private @Nullable CniInstaller installer;
  private @Nullable Thread installerWatch;

  private AgentDaemon(AgentConfig config) {
    this.config = config;
  }

  /**
   * Starts the agent. The client is the caller's (not closed by {@link #close()}). On failure
   * everything started so far is stopped and the exception is thrown.
   */
  public static AgentDaemon start(AgentConfig config, KubernetesClient client) throws Exception {
    AgentDaemon d = new AgentDaemon(config);
    try {
      d.run(client, Duration.ofSeconds(2));
      return d;
    } catch (Exception | Error e) {
      d.close();
      throw e;
    }
  }

  private void run(KubernetesClient client, Duration hostRuleRetry) throws Exception {
    if (config.healthz() != null) {
      health = HealthServer.start(config.healthz(), this::isReady);
      log.info("health server on port {}", health.port());
    }
    RulesBackend.Choice choice = RulesBackend.choose(config.rules(), RulesBackend.probe(config.hostNetns()));
    if (choice.error() != null) {
      throw new IOException("no usable rule backend (" + choice.reason() + "): " + choice.error());
    }
    log.info("rule backend {} ({})", choice.kind(), choice.reason());
    RedirectionRules rules;
    HostRules hostRules;
    if (choice.kind() == RulesBackend.Kind.NFTABLES) {
      rules = new NftablesRedirection();
      hostRules = HostRules.nftables(config.hostNetns(), config.ruleOptions(), kubeletUid());
    } else {
      rules = new IptablesRedirection();
      hostRules = HostRules.iptables(config.hostNetns(), config.ruleOptions());
    }
    applyHostRules(hostRules, hostRuleRetry);

    ZdsServer z = ZdsServer.open(config.zdsSocket());
    zds = z;
    AtomicReference<@Nullable AmbientPodController> ctl = new AtomicReference<>();
    NodeAgent a = new NodeAgent(rules, config.ruleOptions(), hostRules, z, (ns, name) -> {
      AmbientPodController c = ctl.get();
      return c == null ? null : c.facts(ns, name);
    }, config.zdsWait());
    agent = a;
    Enrollment enrollment = new Enrollment(EnablementSelector.DEFAULTS, config.excludedNamespaces());
    AmbientPodController c = new AmbientPodController(client, config.nodeName(), enrollment, a,
        config.statusSubresource(), config.serverFieldSelector());
    ctl.set(c);
    controller = c;
    events = new PluginEventServer(config.pluginEventSocket(), c, () -> serving).start();
    c.start();
    a.restore(c.enrolledPods());
    z.serve();
    serving = true;
    log.info("node agent serving: plugin events on {}, ZDS on {}", config.pluginEventSocket(), config.zdsSocket());

    Path launcher = config.pluginLauncher();
    if (config.install() && launcher != null) {
      CniInstaller i = new CniInstaller(config.cniBinDir(), config.cniNetDir(), launcher, config.pluginEntry());
      installer = i;
      Path conf = i.reconcile();
      log.info("CNI plugin installed into {} ({})", config.cniBinDir(), conf == null ? "no primary CNI config yet" : conf);
      installerWatch = Thread.ofPlatform().daemon().name("cni-install-watch").start(() -> {
        try {
          i.watch();
        } catch (IOException e) {
          log.warn("CNI config watch stopped: {}", e.toString());
        }
      });
    } else {
      log.info("CNI plugin installation skipped");
    }
    ready = true;
    log.info("node agent ready");
  }

  private int kubeletUid() {
    Integer configured = config.kubeletUid();
    if (configured != null) {
      return configured;
    }
    OptionalInt found = KubeletUid.find(Path.of("/proc"));
    if (found.isEmpty()) {
      log.warn("no kubelet process found; the probe SNAT rule matches uid 0");
    }
    return found.orElse(0);
  }

  private static void applyHostRules(HostRules hostRules, Duration retry) throws Exception {
    for (int attempt = 1; ; attempt++) {
      try {
        hostRules.apply();
        return;
      } catch (IOException e) {
        if (attempt >= HOST_RULE_ATTEMPTS) {
          throw new IOException("host probe rules failed " + attempt + " times: " + e.getMessage(), e);
        }
        log.warn("host probe rules failed (attempt {}): {}", attempt, e.getMessage());
        Thread.sleep(retry);
      }
    }
  }

  /** Start-up finished and the plugin installed: {@code /readyz} answers 200. */
  public boolean isReady() {
    return ready;
  }

  /** The agent's pod setup (for tests and the debug endpoint). */
  public NodeAgent agent() {
    NodeAgent a = agent;
    if (a == null) {
      throw new IllegalStateException("not started");
    }
    return a;
  }

  public @Nullable Integer healthPort() {
    HealthServer h = health;
    return h == null ? null : h.port();
  }

  @Override
  public void close() {
    ready = false;
    serving = false;
    closeQuietly(events, "plugin event server");
    closeQuietly(installer, "CNI config watch");
    Thread w = installerWatch;
    if (w != null) {
      try {
        w.join(2000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    AmbientPodController c = controller;
    if (c != null) {
      c.close();
    }
    closeQuietly(zds, "ZDS server");
    closeQuietly(health, "health server");
    log.info("node agent stopped; pod and host rules left in place");
  }

  private static void closeQuietly(@Nullable AutoCloseable c, String what) {
    if (c == null) {
      return;
    }
    try {
      c.close();
    } catch (Exception e) {
      log.warn("closing the {} failed: {}", what, e.toString());
    }
  }
}
