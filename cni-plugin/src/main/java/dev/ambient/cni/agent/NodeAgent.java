package dev.ambient.cni.agent;

import dev.ambient.cni.agent.rules.HostRules;
import dev.ambient.cni.agent.rules.PodAddresses;
import dev.ambient.cni.agent.rules.PodNetns;
import dev.ambient.cni.agent.rules.RedirectionRules;
import dev.ambient.cni.agent.rules.RuleCheck;
import dev.ambient.cni.agent.zds.ZdsServer;
import dev.ambient.xds.api.zds.WorkloadInfo;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The real {@link PodSetup} of the node agent (spec §2.10): puts a pod into the mesh with in-pod
 * redirection rules, the ZDS hand-off to ztunnel and the host probe-set entry, and takes it out
 * again. The {@code ambient.istio.io/redirection} annotation is written around these calls by
 * {@link dev.ambient.cni.agent.k8s.AmbientPodController}.
 *
 * <p>Add order: find the netns (the CNI_NETNS path; else the one this agent recorded for the pod;
 * else the pod's {@value RedirectionAnnotation#NETNS_KEY} annotation), install the rules (a failure
 * forgets the pod), send ZDS AddWorkload and wait for ztunnel's ack, add the host set entry. When
 * no ztunnel is connected or it NACKs, the add fails (the CNI ADD gets a 500, the pod stays
 * {@code pending} with its rules in place and is part of the next ZDS snapshot) as upstream does.
 * Remove order: host set entry, in-pod rules (not when the pod is being deleted), ZDS DelWorkload
 * to every ztunnel. Both are idempotent; calls are serialised.
 *
 * <p>{@link #restore} is the start-up reconcile: pods already annotated {@code enabled} get their
 * rules checked (and re-applied if tampered with), their host set entries re-added and their netns
 * put into the ZDS snapshot, before the ZDS server accepts connections.
 */
public final class NodeAgent implements PodSetup {
  private static final Logger log = LoggerFactory.getLogger(NodeAgent.class);

  /** An enrolled pod as this agent captured it. */
  record Captured(String uid, @Nullable PodNetns netns, PodAddresses addresses) {}

  private final RedirectionRules rules;
  private final RedirectionRules.Options defaults;
  private final HostRules hostRules;
  private final ZdsServer zds;
  private final PodDirectory pods;
  private final Duration zdsWait;
  private final Map<String, Captured> captured = new LinkedHashMap<>(); // by namespace/name; guarded by this

  /**
   * @param defaults the capture options before per-pod annotations ({@code --dns-capture} etc.)
   * @param zdsWait how long an add or delete waits for ztunnel's acks (each ack already has a 5 s bound)
   */
  public NodeAgent(RedirectionRules rules, RedirectionRules.Options defaults, HostRules hostRules, ZdsServer zds,
      PodDirectory pods, Duration zdsWait) {
    this.rules = Objects.requireNonNull(rules, "rules");
    this.defaults = Objects.requireNonNull(defaults, "defaults");
    this.hostRules = Objects.requireNonNull(hostRules, "hostRules");
    this.zds = Objects.requireNonNull(zds, "zds");
    this.pods = Objects.requireNonNull(pods, "pods");
    this.zdsWait = Objects.requireNonNull(zdsWait, "zdsWait");
  }

  @Override
  public synchronized void addToMesh(CmdAdd add) throws Exception {
    String key = add.podNamespace() + "/" + add.podName();
    PodFacts pod = pods.find(add.podNamespace(), add.podName());
    if (pod == null) {
      throw new IllegalStateException("pod " + key + " is not in the agent's cache");
    }
    if (pod.uid().isEmpty()) {
      throw new IllegalStateException("pod " + key + " has no uid");
    }
    PodNetns netns = netnsOf(add, pod);
    PodAddresses addresses = addresses(add, pod);
    RedirectionRules.Options options = PodOptions.forPod(defaults, pod.annotations());
    long t0 = System.nanoTime();
    try {
      rules.apply(netns, addresses, options);
    } catch (IOException | RuntimeException e) {
      captured.remove(key);
      throw new IOException("installing the redirection rules in " + netns.path() + " failed: " + e.getMessage(), e);
    }
    captured.put(key, new Captured(pod.uid(), netns, addresses));
    long t1 = System.nanoTime();
    await(zds.addPod(pod.uid(), workloadInfo(pod), netns.path()), "ztunnel did not take pod " + key);
    long t2 = System.nanoTime();
    hostRules.addPod(pod.uid(), addresses);
    // the timings are read by ./ambient bench pods ("ZDS add to ack": ztunnel acks once the pod's listeners are bound)
    log.info("pod {} (uid {}) captured: netns {}, addresses {}; rules {} ms, ZDS add to ack {} ms", key, pod.uid(),
        netns.path(), addresses.addresses(), (t1 - t0) / 1_000 / 1000.0, (t2 - t1) / 1_000 / 1000.0);
  }

  @Override
  public synchronized void removeFromMesh(String namespace, String name, boolean deleted) throws Exception {
    String key = namespace + "/" + name;
    Captured c = captured.get(key);
    if (c == null) {
      PodFacts pod = pods.find(namespace, name);
      if (pod == null || pod.uid().isEmpty()) {
        log.info("pod {}: nothing to remove (not captured by this agent and not in the cache)", key);
        return;
      }
      String recorded = pod.annotations().getOrDefault(RedirectionAnnotation.NETNS_KEY, "");
      c = new Captured(pod.uid(), recorded.startsWith("/") ? PodNetns.of(recorded) : null, new PodAddresses(pod.ips()));
    }
    hostRules.removePod(c.uid(), c.addresses());
    PodNetns netns = c.netns();
    if (!deleted && netns != null && Files.exists(netns.path())) {
      rules.remove(netns, c.addresses());
    }
    await(zds.removePod(c.uid()), "ztunnel did not release pod " + key);
    captured.remove(key);
    log.info("pod {} (uid {}) released{}", key, c.uid(), deleted ? " (deleted)" : "");
  }

  /**
   * Start-up reconcile (spec §2.1 step 6, §2.10) of pods annotated {@code enabled}: per pod, rules
   * checked and re-applied when they differ, host set entry re-added, netns into the ZDS snapshot.
   * Pods without a known netns are logged and skipped. Returns how many pods were restored.
   */
  public synchronized int restore(List<PodFacts> enrolled) {
    int restored = 0;
    for (PodFacts pod : enrolled) {
      String recorded = pod.annotations().getOrDefault(RedirectionAnnotation.NETNS_KEY, "");
      if (pod.uid().isEmpty() || !recorded.startsWith("/") || !Files.exists(Path.of(recorded))) {
        log.warn("pod {} is enrolled but its netns is unknown or gone ('{}'); not restored", pod.key(), recorded);
        continue;
      }
      PodNetns netns = PodNetns.of(recorded);
      PodAddresses addresses = new PodAddresses(pod.ips());
      try {
        RedirectionRules.Options options = PodOptions.forPod(defaults, pod.annotations());
        RuleCheck check = rules.check(netns, addresses, options);
        if (!check.isClean()) {
          log.warn("pod {}: redirection rules differ (missing {}, extra {}); re-applying", pod.key(), check.missing(),
              check.extra());
          rules.apply(netns, addresses, options);
        }
        captured.put(pod.key(), new Captured(pod.uid(), netns, addresses));
        CompletableFuture<Void> sent = zds.addPod(pod.uid(), workloadInfo(pod), netns.path());
        sent.exceptionally(e -> null); // kept for the snapshot; no ztunnel is accepted yet
        hostRules.addPod(pod.uid(), addresses);
        restored++;
      } catch (IOException | RuntimeException e) {
        log.warn("pod {}: restoring failed: {}", pod.key(), e.getMessage());
      }
    }
    log.info("restored {} of {} enrolled pods", restored, enrolled.size());
    return restored;
  }

  /** namespace/name of the pods this agent has captured. */
  public synchronized Set<String> captured() {
    return Set.copyOf(captured.keySet());
  }

  private PodNetns netnsOf(CmdAdd add, PodFacts pod) throws IOException {
    String path = add.netns();
    if (path.isEmpty()) {
      Captured c = captured.get(pod.key());
      PodNetns known = c == null ? null : c.netns();
      if (c != null && known != null && c.uid().equals(pod.uid())) {
        path = known.path().toString();
      }
    }
    if (path.isEmpty()) {
      path = pod.annotations().getOrDefault(RedirectionAnnotation.NETNS_KEY, "");
    }
    if (path.isEmpty()) {
      throw new IOException("pod " + pod.key() + ": no netns known (no CNI_NETNS, no " + RedirectionAnnotation.NETNS_KEY
          + " annotation; the /proc scan is not implemented)");
    }
    PodNetns netns;
    try {
      netns = PodNetns.of(path);
    } catch (IllegalArgumentException e) {
      throw new IOException("pod " + pod.key() + ": bad netns path: " + e.getMessage(), e);
    }
    if (!Files.exists(netns.path())) {
      throw new IOException("pod " + pod.key() + ": netns " + path + " does not exist");
    }
    return netns;
  }

  private static PodAddresses addresses(CmdAdd add, PodFacts pod) {
    List<InetAddress> ips = new ArrayList<>();
    add.ips().forEach(ip -> ips.add(ip.address()));
    return new PodAddresses(ips.isEmpty() ? pod.ips() : ips);
  }

  static WorkloadInfo workloadInfo(PodFacts pod) {
    return WorkloadInfo.newBuilder().setName(pod.name()).setNamespace(pod.namespace())
        .setServiceAccount(pod.serviceAccount()).build();
  }

  private void await(CompletableFuture<Void> f, String what) throws IOException, InterruptedException {
    try {
      f.get(zdsWait.toMillis(), TimeUnit.MILLISECONDS);
    } catch (ExecutionException e) {
      Throwable cause = e.getCause() == null ? e : e.getCause();
      throw new IOException(what + ": " + cause.getMessage(), cause);
    } catch (TimeoutException e) {
      throw new IOException(what + ": no answer within " + zdsWait, e);
    }
  }
}
