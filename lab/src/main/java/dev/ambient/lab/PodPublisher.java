package dev.ambient.lab;

import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodIP;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Watches every pod and every Service in the lab's API server and keeps the control plane's config directory in
 * step, as istiod publishes them (spec §4.3–§4.4): one local-config file per pod
 * ({@code <config>/pods/<namespace>.<name>.yaml}; a workload once the pod has an IP, {@code HBONE} once the node
 * agent has annotated it {@code ambient.istio.io/redirection: enabled}, removed when the pod is deleted or terminal,
 * with the {@code services} map of the Services that select it) and one per Service
 * ({@code <config>/services/<namespace>.<name>.yaml}). A Service change republishes every pod, so endpoints follow
 * pod adds, deletes and label changes.
 */
final class PodPublisher implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(PodPublisher.class);

  private final Path dir;
  private final Path servicesDir;
  private @Nullable SharedIndexInformer<Pod> pods;
  private @Nullable SharedIndexInformer<Service> services;

  private PodPublisher(Path dir, Path servicesDir) {
    this.dir = dir;
    this.servicesDir = servicesDir;
  }

  static PodPublisher start(KubernetesClient client, Path configDir) throws IOException {
    PodPublisher p = new PodPublisher(configDir.resolve("pods"), configDir.resolve("services"));
    Files.createDirectories(p.dir);
    Files.createDirectories(p.servicesDir);
    p.services = client.services().inAnyNamespace().inform(p.new ServiceHandler(), 0);
    p.pods = client.pods().inAnyNamespace().inform(p.new PodHandler(), 0);
    p.republishAll();
    return p;
  }

  Path dir() {
    return dir;
  }

  @Override
  public void close() {
    if (pods != null) {
      pods.close();
    }
    if (services != null) {
      services.close();
    }
  }

  private List<LabServices.ServiceFacts> serviceFacts() {
    SharedIndexInformer<Service> s = services;
    return s == null ? List.of() : s.getStore().list().stream().map(LabServices::facts).toList();
  }

  private synchronized void republishAll() {
    SharedIndexInformer<Pod> p = pods;
    if (p != null) {
      p.getStore().list().forEach(this::publish);
    }
  }

  private synchronized void publish(Pod pod) {
    try {
      PodWorkloads.PodFacts facts = facts(pod);
      Optional<PodWorkloads.Workload> w = PodWorkloads.of(facts,
          LabServices.servicesOf(facts.namespace(), facts.labels(), serviceFacts()));
      if (w.isEmpty()) {
        remove(pod);
        return;
      }
      if (write(file(pod), w.get().yaml())) {
        log.info("published {} as {} workload {}", pod.getMetadata().getName(), w.get().protocol(), w.get().uid());
      }
    } catch (IOException | RuntimeException e) {
      log.error("cannot publish pod {}: {}", pod.getMetadata().getName(), e.toString());
    }
  }

  private synchronized void remove(Pod pod) {
    try {
      if (Files.deleteIfExists(file(pod))) {
        log.info("unpublished {}", pod.getMetadata().getName());
      }
    } catch (IOException e) {
      log.error("cannot unpublish pod {}: {}", pod.getMetadata().getName(), e.toString());
    }
  }

  /** Writes {@code text} atomically unless the file holds it already; whether it wrote. */
  private static boolean write(Path f, String text) throws IOException {
    if (Files.exists(f) && Files.readString(f).equals(text)) {
      return false;
    }
    Path tmp = f.resolveSibling("." + f.getFileName() + ".tmp");
    Files.writeString(tmp, text);
    LabState.atomicMove(tmp, f);
    return true;
  }

  private Path file(Pod pod) {
    return dir.resolve(Objects.requireNonNullElse(pod.getMetadata().getNamespace(), "default") + "."
        + pod.getMetadata().getName() + ".yaml");
  }

  private Path file(Service svc) {
    return servicesDir.resolve(Objects.requireNonNullElse(svc.getMetadata().getNamespace(), "default") + "."
        + svc.getMetadata().getName() + ".yaml");
  }

  private synchronized void publishService(Service svc) {
    try {
      LabServices.ServiceFacts f = LabServices.facts(svc);
      if (write(file(svc), f.yaml())) {
        log.info("published service {} ({}, VIPs {})", f.key(), f.ports(), f.vips());
      }
    } catch (IOException | RuntimeException e) {
      log.error("cannot publish service {}: {}", svc.getMetadata().getName(), e.toString());
    }
    republishAll();
  }

  private synchronized void removeService(Service svc) {
    try {
      if (Files.deleteIfExists(file(svc))) {
        log.info("unpublished service {}", svc.getMetadata().getName());
      }
    } catch (IOException e) {
      log.error("cannot unpublish service {}: {}", svc.getMetadata().getName(), e.toString());
    }
    republishAll();
  }

  /** The facts the publishing rules read from a pod. */
  static PodWorkloads.PodFacts facts(Pod pod) {
    var meta = pod.getMetadata();
    var spec = pod.getSpec();
    var status = pod.getStatus();
    List<String> ips = new ArrayList<>();
    if (status != null && status.getPodIPs() != null) {
      for (PodIP ip : status.getPodIPs()) {
        if (ip.getIp() != null) {
          ips.add(ip.getIp());
        }
      }
    }
    if (ips.isEmpty() && status != null && status.getPodIP() != null) {
      ips.add(status.getPodIP());
    }
    boolean ready = status != null && status.getConditions() != null && status.getConditions().stream()
        .anyMatch(c -> "Ready".equals(c.getType()) && "True".equals(c.getStatus()));
    return new PodWorkloads.PodFacts(
        Objects.requireNonNullElse(meta.getNamespace(), "default"), meta.getName(),
        spec == null ? "" : Objects.requireNonNullElse(spec.getServiceAccountName(), ""),
        spec == null ? "" : Objects.requireNonNullElse(spec.getNodeName(), ""),
        ips,
        orEmpty(meta.getLabels()), orEmpty(meta.getAnnotations()),
        status == null ? "" : Objects.requireNonNullElse(status.getPhase(), ""),
        ready, meta.getDeletionTimestamp() != null,
        spec != null && Boolean.TRUE.equals(spec.getHostNetwork()));
  }

  private static Map<String, String> orEmpty(@Nullable Map<String, String> m) {
    return m == null ? Map.of() : m;
  }

  private final class PodHandler implements ResourceEventHandler<Pod> {
    @Override
    public void onAdd(Pod pod) {
      publish(pod);
    }

    @Override
    public void onUpdate(Pod oldPod, Pod pod) {
      publish(pod);
    }

    @Override
    public void onDelete(Pod pod, boolean deletedFinalStateUnknown) {
      remove(pod);
    }
  }

  private final class ServiceHandler implements ResourceEventHandler<Service> {
    @Override
    public void onAdd(Service svc) {
      publishService(svc);
    }

    @Override
    public void onUpdate(Service oldSvc, Service svc) {
      publishService(svc);
    }

    @Override
    public void onDelete(Service svc, boolean deletedFinalStateUnknown) {
      removeService(svc);
    }
  }
}
