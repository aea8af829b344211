package dev.ambient.lab;

import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodIP;
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
 * Watches every pod in the lab's API server and keeps one local-config file per pod in the control
 * plane's config directory ({@code <config>/pods/<namespace>.<name>.yaml}), as istiod publishes pods
 * (spec §4.3): a workload once the pod has an IP, {@code HBONE} once the node agent has annotated it
 * {@code ambient.istio.io/redirection: enabled}, removed when the pod is deleted or terminal.
 */
final class PodPublisher implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(PodPublisher.class);

  private final Path dir;
  private final SharedIndexInformer<Pod> informer;

  private PodPublisher(Path dir, SharedIndexInformer<Pod> informer) {
    this.dir = dir;
    this.informer = informer;
  }

  static PodPublisher start(KubernetesClient client, Path configDir) throws IOException {
    Path dir = configDir.resolve("pods");
    Files.createDirectories(dir);
    Handler handler = new Handler(dir);
    SharedIndexInformer<Pod> informer = client.pods().inAnyNamespace().inform(handler, 0);
    return new PodPublisher(dir, informer);
  }

  Path dir() {
    return dir;
  }

  @Override
  public void close() {
    informer.close();
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

  private record Handler(Path dir) implements ResourceEventHandler<Pod> {
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

    private void publish(Pod pod) {
      try {
        Optional<PodWorkloads.Workload> w = PodWorkloads.of(facts(pod));
        if (w.isEmpty()) {
          remove(pod);
          return;
        }
        Path f = file(pod);
        String yaml = w.get().yaml();
        if (Files.exists(f) && Files.readString(f).equals(yaml)) {
          return;
        }
        Path tmp = dir.resolve("." + f.getFileName() + ".tmp");
        Files.writeString(tmp, yaml);
        LabState.atomicMove(tmp, f);
        log.info("published {} as {} workload {}", pod.getMetadata().getName(), w.get().protocol(), w.get().uid());
      } catch (IOException | RuntimeException e) {
        log.error("cannot publish pod {}: {}", pod.getMetadata().getName(), e.toString());
      }
    }

    private void remove(Pod pod) {
      try {
        if (Files.deleteIfExists(file(pod))) {
          log.info("unpublished {}", pod.getMetadata().getName());
        }
      } catch (IOException e) {
        log.error("cannot unpublish pod {}: {}", pod.getMetadata().getName(), e.toString());
      }
    }

    private Path file(Pod pod) {
      return dir.resolve(Objects.requireNonNullElse(pod.getMetadata().getNamespace(), "default") + "."
          + pod.getMetadata().getName() + ".yaml");
    }
  }
}
