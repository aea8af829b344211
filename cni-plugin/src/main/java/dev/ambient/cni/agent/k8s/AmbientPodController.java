package dev.ambient.cni.agent.k8s;

import dev.ambient.cni.agent.CmdAdd;
import dev.ambient.cni.agent.Enrollment;
import dev.ambient.cni.agent.PodFacts;
import dev.ambient.cni.agent.PodInfo;
import dev.ambient.cni.agent.PodSetup;
import dev.ambient.cni.agent.RedirectionAnnotation;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.Namespace;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodIP;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.net.InetAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;

/**
 * Keeps the pods of this node enrolled as their labels say (spec §2.2): informers on pods
 * ({@code spec.nodeName=<node>}) and namespaces feed {@link Enrollment}; enrolling annotates the pod
 * {@code pending}, runs the supplied {@link PodSetup}, then annotates {@code enabled}; un-enrolling
 * runs {@link PodSetup#removeFromMesh} and removes the annotation.
 *
 * <p>All work runs on one thread (a queue of pod keys); a failed step is retried with backoff from
 * 5 ms to 5 s, for ever, so the setup calls must be idempotent. The controller is itself a
 * {@link PodSetup}: give it to {@link dev.ambient.cni.agent.PluginEventServer} so that CNI ADDs go
 * through the same checks and annotations.
 */
public final class AmbientPodController implements PodSetup, AutoCloseable {
  /** The annotation this agent last wrote per {@code namespace/name}, ahead of the informer's view. */
  private final java.util.Map<String, RedirectionAnnotation> written = new java.util.concurrent.ConcurrentHashMap<>();

  private static final Logger LOG = System.getLogger(AmbientPodController.class.getName());
  private static final Duration MIN_BACKOFF = Duration.ofMillis(5);
  private static final Duration MAX_BACKOFF = Duration.ofSeconds(5);

  private final KubernetesClient client;
  private final String nodeName;
  private final Enrollment enrollment;
  private final PodSetup setup;
  private final boolean statusSubresource;
  private final boolean serverFieldSelector;
  private final ScheduledExecutorService worker =
      Executors.newSingleThreadScheduledExecutor(Thread.ofPlatform().daemon().name("ambient-pods").factory());
  /** How long a CNI ADD waits for the informers to show its pod and namespace. */
  static final java.time.Duration CACHE_WAIT = java.time.Duration.ofSeconds(3);
  private final Map<String, Integer> failures = new ConcurrentHashMap<>();
  private @Nullable SharedIndexInformer<Pod> pods;
  private @Nullable SharedIndexInformer<Namespace> namespaces;

  /**
   * @param statusSubresource patch the annotation through {@code pods/status} (istio's way, least
   *     privilege); false patches the pod itself
   * @param serverFieldSelector ask the API server for {@code spec.nodeName=<node>} only (true in a
   *     cluster); fabric8's CRUD mock server does not implement that selector, so its tests pass
   *     false. Pods of other nodes are ignored either way.
   */
  public AmbientPodController(KubernetesClient client, String nodeName, Enrollment enrollment, PodSetup setup,
      boolean statusSubresource, boolean serverFieldSelector) {
    this.client = Objects.requireNonNull(client, "client");
    this.nodeName = Objects.requireNonNull(nodeName, "nodeName");
    this.enrollment = Objects.requireNonNull(enrollment, "enrollment");
    this.setup = Objects.requireNonNull(setup, "setup");
    this.statusSubresource = statusSubresource;
    this.serverFieldSelector = serverFieldSelector;
  }

  /** Starts both informers, waits for their first sync, then reconciles every pod of the node once. */
  public AmbientPodController start() {
    SharedIndexInformer<Namespace> ns = client.namespaces().inform(new ResourceEventHandler<>() {
      @Override
      public void onAdd(Namespace n) {
        requeueNamespace(n.getMetadata().getName());
      }

      @Override
      public void onUpdate(Namespace old, Namespace now) {
        if (enrollment.namespaceSelected(labels(old.getMetadata().getLabels()))
            != enrollment.namespaceSelected(labels(now.getMetadata().getLabels()))) {
          requeueNamespace(now.getMetadata().getName());
        }
      }

      @Override
      public void onDelete(Namespace n, boolean unknownFinalState) {}
    });
    namespaces = ns;
    var podsOfNode = serverFieldSelector
        ? client.pods().inAnyNamespace().withField("spec.nodeName", nodeName)
        : client.pods().inAnyNamespace().withNewFilter().endFilter();
    SharedIndexInformer<Pod> p = podsOfNode.inform(new ResourceEventHandler<>() {
          @Override
          public void onAdd(Pod pod) {
            // new pods come through the CNI plugin; pods present at start through start()
          }

          @Override
          public void onUpdate(Pod old, Pod now) {
            if (!onThisNode(now)) {
              return;
            }
            enqueue(now.getMetadata().getNamespace(), now.getMetadata().getName(), old);
          }

          @Override
          public void onDelete(Pod pod, boolean unknownFinalState) {
            if (!onThisNode(pod)) {
              return;
            }
            enqueue(pod.getMetadata().getNamespace(), pod.getMetadata().getName(), pod);
          }
        });
    pods = p;
    for (Pod pod : p.getStore().list()) {
      if (onThisNode(pod)) {
        enqueue(pod.getMetadata().getNamespace(), pod.getMetadata().getName(), pod);
      }
    }
    return this;
  }

  private void requeueNamespace(String namespace) {
    SharedIndexInformer<Pod> p = pods;
    if (p == null) {
      return;
    }
    for (Pod pod : p.getStore().list()) {
      if (namespace.equals(pod.getMetadata().getNamespace()) && onThisNode(pod)) {
        enqueue(namespace, pod.getMetadata().getName(), pod);
      }
    }
  }

  private void enqueue(String namespace, String name, Pod last) {
    worker.execute(() -> runReconcile(namespace, name, last));
  }

  private void runReconcile(String namespace, String name, Pod last) {
    String key = namespace + "/" + name;
    try {
      reconcile(namespace, name, last);
      failures.remove(key);
    } catch (Exception e) {
      int n = failures.merge(key, 1, Integer::sum);
      long delay = Math.min(MAX_BACKOFF.toMillis(), MIN_BACKOFF.toMillis() << Math.min(n - 1, 20));
      LOG.log(Level.WARNING, "pod {0}: {1}; retry {2} in {3} ms", key, e.getMessage(), n, delay);
      worker.schedule(() -> runReconcile(namespace, name, last), delay, TimeUnit.MILLISECONDS);
    }
  }

  /** The spec §2.2 update handling for one pod, against the informers' current view. */
  private void reconcile(String namespace, String name, Pod last) throws Exception {
    Pod now = current(namespace, name);
    if (now == null) {
      written.remove(namespace + "/" + name);
      RedirectionAnnotation was = RedirectionAnnotation.of(annotations(last));
      if (was != null || decide(last).ambient()) {
        setup.removeFromMesh(namespace, name, true);
      }
      return;
    }
    RedirectionAnnotation state = RedirectionAnnotation.of(annotations(now));
    if (state == RedirectionAnnotation.PENDING && written.get(namespace + "/" + name) == RedirectionAnnotation.ENABLED) {
      // The informer has not caught up with our own "enabled" patch yet: enrolling again would
      // redo the whole setup for nothing.
      state = RedirectionAnnotation.ENABLED;
    }
    String phase = now.getStatus() == null ? null : now.getStatus().getPhase();
    boolean terminal = "Succeeded".equals(phase) || "Failed".equals(phase);
    if (terminal) {
      if (state != null) {
        setup.removeFromMesh(namespace, name, true);
        annotate(namespace, name, null);
      }
      return;
    }
    boolean should = decide(now).ambient();
    if (!should) {
      if (state != null) {
        setup.removeFromMesh(namespace, name, false);
        annotate(namespace, name, null);
      }
      return;
    }
    if (state == RedirectionAnnotation.ENABLED) {
      return;
    }
    List<CmdAdd.PodIp> ips = ips(now);
    if (ips.isEmpty()) {
      return; // no IP yet: the CNI ADD will bring it
    }
    enrol(new CmdAdd("", name, namespace, ips), state);
  }

  /** The CNI path (spec §1.8): the pod must be in the cache and eligible, then it is enrolled. */
  @Override
  public void addToMesh(CmdAdd add) throws Exception {
    // The plugin has just read the pod from the API server, so a miss is this agent's informers lagging (a busy
    // node, or a pod created right before its sandbox as the lab does): wait for the pod and its namespace for up
    // to CACHE_WAIT (istio waits 100 ms and lets the kubelet retry the sandbox).
    Pod pod = null;
    long deadline = System.nanoTime() + CACHE_WAIT.toNanos();
    while (true) {
      pod = current(add.podNamespace(), add.podName());
      if ((pod != null && namespaceCached(add.podNamespace())) || System.nanoTime() > deadline) {
        break;
      }
      Thread.sleep(10);
    }
    if (pod == null) {
      throw new IllegalStateException("pod " + add.podNamespace() + "/" + add.podName() + " not found in the agent's cache");
    }
    Enrollment.Decision d = decide(pod);
    if (!d.ambient()) {
      throw new IllegalStateException("pod unexpectedly not eligible: " + d);
    }
    Pod p = pod;
    var done = worker.submit(() -> {
      enrol(add, RedirectionAnnotation.of(annotations(p)));
      return null;
    });
    try {
      done.get();
    } catch (ExecutionException e) {
      if (e.getCause() instanceof Exception cause) {
        throw cause;
      }
      throw e;
    }
  }

  @Override
  public void removeFromMesh(String namespace, String name, boolean deleted) throws Exception {
    setup.removeFromMesh(namespace, name, deleted);
    annotate(namespace, name, null);
  }

  private void enrol(CmdAdd add, @Nullable RedirectionAnnotation state) throws Exception {
    if (state != RedirectionAnnotation.PENDING || !add.netns().isEmpty()) {
      annotate(add.podNamespace(), add.podName(), RedirectionAnnotation.PENDING, add.netns());
    }
    setup.addToMesh(add);
    annotate(add.podNamespace(), add.podName(), RedirectionAnnotation.ENABLED, add.netns());
    LOG.log(Level.INFO, "pod {0}/{1} enrolled", add.podNamespace(), add.podName());
  }

  private void annotate(String namespace, String name, @Nullable RedirectionAnnotation value) {
    annotate(namespace, name, value, "");
  }

  private void annotate(String namespace, String name, @Nullable RedirectionAnnotation value, String netns) {
    String patch = value == null ? RedirectionAnnotation.removalPatch() : value.patch(netns);
    var resource = client.pods().inNamespace(namespace).withName(name);
    try {
      if (statusSubresource) {
        resource.subresource("status").patch(PatchContext.of(PatchType.JSON_MERGE), patch);
      } else {
        resource.patch(PatchContext.of(PatchType.JSON_MERGE), patch);
      }
    } catch (KubernetesClientException e) {
      if (value == null && e.getCode() == 404) {
        written.remove(namespace + "/" + name);
        return; // removal from a pod that is gone
      }
      throw e;
    }
    if (value == null) {
      written.remove(namespace + "/" + name);
    } else {
      written.put(namespace + "/" + name, value);
    }
  }

  /** The pod of this node as the informer has it, or null. */
  public @Nullable PodFacts facts(String namespace, String name) {
    Pod pod = current(namespace, name);
    return pod == null ? null : facts(pod);
  }

  /**
   * Pods of this node annotated {@code enabled} and not terminal: the start-up snapshot (spec §2.1
   * step 6). Call after {@link #start()}.
   */
  public List<PodFacts> enrolledPods() {
    SharedIndexInformer<Pod> p = pods;
    List<PodFacts> out = new ArrayList<>();
    if (p == null) {
      return out;
    }
    for (Pod pod : p.getStore().list()) {
      String phase = pod.getStatus() == null ? null : pod.getStatus().getPhase();
      if (onThisNode(pod) && RedirectionAnnotation.of(annotations(pod)) == RedirectionAnnotation.ENABLED
          && !"Succeeded".equals(phase) && !"Failed".equals(phase)) {
        out.add(facts(pod));
      }
    }
    return out;
  }

  static PodFacts facts(Pod pod) {
    String uid = pod.getMetadata().getUid();
    String sa = pod.getSpec() == null ? null : pod.getSpec().getServiceAccountName();
    List<InetAddress> ips = new ArrayList<>();
    for (CmdAdd.PodIp ip : ips(pod)) {
      ips.add(ip.address());
    }
    return new PodFacts(pod.getMetadata().getNamespace(), pod.getMetadata().getName(), uid == null ? "" : uid,
        sa == null || sa.isEmpty() ? "default" : sa, annotations(pod), ips);
  }

  private boolean namespaceCached(String namespace) {
    SharedIndexInformer<Namespace> ns = namespaces;
    return ns != null && ns.getStore().getByKey(namespace) != null;
  }

  private @Nullable Pod current(String namespace, String name) {
    SharedIndexInformer<Pod> p = pods;
    Pod pod = p == null ? null : p.getStore().getByKey(namespace + "/" + name);
    return pod != null && onThisNode(pod) ? pod : null;
  }

  private boolean onThisNode(Pod pod) {
    return pod.getSpec() != null && nodeName.equals(pod.getSpec().getNodeName());
  }

  private Enrollment.Decision decide(Pod pod) {
    SharedIndexInformer<Namespace> ns = namespaces;
    Namespace n = ns == null ? null : ns.getStore().getByKey(pod.getMetadata().getNamespace());
    return enrollment.decide(podInfo(pod), n == null ? Map.of() : labels(n.getMetadata().getLabels()));
  }

  static PodInfo podInfo(Pod pod) {
    List<String> containers = new ArrayList<>();
    if (pod.getSpec() != null && pod.getSpec().getContainers() != null) {
      for (Container c : pod.getSpec().getContainers()) {
        containers.add(c.getName());
      }
    }
    boolean hostNetwork = pod.getSpec() != null && Boolean.TRUE.equals(pod.getSpec().getHostNetwork());
    return new PodInfo(pod.getMetadata().getNamespace(), pod.getMetadata().getName(),
        labels(pod.getMetadata().getLabels()), annotations(pod), hostNetwork, containers);
  }

  private static List<CmdAdd.PodIp> ips(Pod pod) {
    List<CmdAdd.PodIp> out = new ArrayList<>();
    if (pod.getStatus() == null) {
      return out;
    }
    if (pod.getStatus().getPodIPs() == null || pod.getStatus().getPodIPs().isEmpty()) {
      String single = pod.getStatus().getPodIP();
      if (single != null && !single.isEmpty()) {
        try {
          InetAddress a = InetAddress.ofLiteral(single);
          out.add(new CmdAdd.PodIp(null, a, a.getAddress().length * 8, null));
        } catch (IllegalArgumentException e) {
          LOG.log(Level.WARNING, "pod {0}: ignoring bad IP {1}", pod.getMetadata().getName(), single);
        }
      }
      return out;
    }
    for (PodIP ip : pod.getStatus().getPodIPs()) {
      try {
        InetAddress a = InetAddress.ofLiteral(ip.getIp());
        out.add(new CmdAdd.PodIp(null, a, a.getAddress().length * 8, null));
      } catch (IllegalArgumentException | NullPointerException e) {
        LOG.log(Level.WARNING, "pod {0}: ignoring bad IP {1}", pod.getMetadata().getName(), ip.getIp());
      }
    }
    return out;
  }

  private static Map<String, String> annotations(Pod pod) {
    return labels(pod.getMetadata().getAnnotations());
  }

  private static Map<String, String> labels(@Nullable Map<String, String> m) {
    return m == null ? Map.of() : m;
  }

  @Override
  public void close() {
    SharedIndexInformer<Pod> p = pods;
    if (p != null) {
      p.close();
    }
    SharedIndexInformer<Namespace> n = namespaces;
    if (n != null) {
      n.close();
    }
    worker.shutdownNow();
  }

  /** Keys currently being retried (for tests and the debug endpoint). */
  public Set<String> retrying() {
    return Set.copyOf(failures.keySet());
  }
}
