package dev.ambient.ztunnel.runtime;

import dev.ambient.ztunnel.ZtunnelConfig;
import dev.ambient.ztunnel.ZtunnelConfigException;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Properties;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code ./ambient ztunnel}: reads Istio ztunnel's environment variables (spec §3.3), starts, and
 * drains on SIGTERM/SIGINT (JVM shutdown) or {@code POST /quitquitquit}. Exit codes: 0 after a
 * drain, 1 for an unusable configuration or a failed start.
 */
public final class ZtunnelMain {
  private static final Logger log = LoggerFactory.getLogger(ZtunnelMain.class);

  private static volatile boolean failed;

  /**
   * Netty's leak detector samples about one buffer in 128 and records a stack trace for it (~2 % of
   * the worker loops' CPU at 1,000 requests/s, docs/performance.md "perf-cpu2"). Like Envoy and
   * Istio's ztunnel in production, the node proxy runs without it; {@code
   * -Dio.netty.leakDetection.level=simple} (or paranoid) on the command line turns it back on. The
   * tests set the level themselves and never go through {@link #main}.
   */
  static final String LEAK_DETECTION_LEVEL = "io.netty.leakDetection.level";

  private static final String LEGACY_LEAK_DETECTION_LEVEL = "io.netty.leakDetectionLevel";

  private ZtunnelMain() {}

  /**
   * The system properties the process sets before any Netty class is loaded, given the ones it was
   * started with: only defaults, never overriding what the command line set.
   */
  static Map<String, String> productionDefaults(Properties current) {
    Map<String, String> defaults = new LinkedHashMap<>();
    if (current.getProperty(LEAK_DETECTION_LEVEL) == null && current.getProperty(LEGACY_LEAK_DETECTION_LEVEL) == null) {
      defaults.put(LEAK_DETECTION_LEVEL, "disabled");
    }
    return defaults;
  }

  public static void main(String[] args) {
    productionDefaults(System.getProperties()).forEach(System::setProperty);
    if (args.length > 0 && (args[0].equals("--help") || args[0].equals("-h"))) {
      System.out.println("""
          usage: ./ambient ztunnel
            Runs the node proxy. Configuration comes from the environment, as for Istio's ztunnel:
            PROXY_MODE=dedicated with PROXY_WORKLOAD_INFO=namespace/name/serviceAccount, XDS_ADDRESS,
            CA_ADDRESS, XDS_ROOT_CA, CA_ROOT_CA, LOCAL_XDS_PATH, FAKE_CA, ... (docs/ztunnel-config.md).""");
      return;
    }
    System.exit(run(System.getenv()));
  }

  static int run(Map<String, String> env) {
    ZtunnelConfig config;
    try {
      config = ZtunnelConfig.fromEnvironment(env, Runtime.getRuntime().availableProcessors(),
          ZtunnelConfig.readMeshConfig(java.nio.file.Path.of(ZtunnelConfig.MESH_CONFIG_FILE)));
    } catch (ZtunnelConfigException e) {
      System.err.println("ztunnel: invalid configuration:");
      e.problems().forEach(p -> System.err.println("  " + p));
      return 1;
    }
    try {
      dev.ambient.ztunnel.admin.LogLevels.applyAtStartup(config.logging().filter());
    } catch (IllegalArgumentException e) {
      System.err.println("ztunnel: invalid configuration:\n  RUST_LOG: " + e.getMessage());
      return 1;
    }
    Ztunnel ztunnel;
    try {
      ztunnel = Ztunnel.start(config, env);
    } catch (LocalXdsLoader.LocalXdsException | RuntimeException e) {
      System.err.println("ztunnel: cannot start: " + e.getMessage());
      return 1;
    }
    Runtime.getRuntime().addShutdownHook(Thread.ofPlatform().name("ztunnel-shutdown").unstarted(() -> {
      log.info("ztunnel: shutdown signal, draining for up to {}", config.terminationDeadline());
      ztunnel.drain(config.terminationDeadline()).join();
    }));
    // Until the first sync the process waits (readiness lists what is pending); a listener that
    // cannot bind ends it.
    ztunnel.started().exceptionally(e -> {
      System.err.println("ztunnel: cannot start: " + e.getMessage());
      failed = true;
      ztunnel.close();
      return null;
    });
    try {
      ztunnel.terminated().join();
    } catch (java.util.concurrent.CompletionException e) {
      // e.g. a ZDS protocol error in shared mode: the node agent and this ztunnel disagree
      System.err.println("ztunnel: stopped: " + e.getCause().getMessage());
      return 1;
    }
    return failed ? 1 : 0;
  }
}
