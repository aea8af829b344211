package dev.ambient.lab;

import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * {@code lab apply -f FILE} and {@code lab delete -f FILE}: a file of YAML documents in which Kubernetes
 * {@code v1 Service}s go to the lab's API server (where the publisher turns them into control-plane services and
 * endpoints, as istiod does) and everything else (Istio policy, local config) goes through {@link PolicyFiles}.
 * Nothing is written unless every document is valid. A Service without {@code clusterIP} gets a VIP from the lab's
 * range (kept across re-applies), as the API server would allocate one.
 */
final class Manifests {
  private static final Pattern SEPARATOR = Pattern.compile("^---\\s*(#.*)?$");
  private static final KubernetesSerialization SERIALIZATION = new KubernetesSerialization();

  private Manifests() {}

  /** A file split in two: its Services, and its other documents with the Service lines blanked (line numbers kept). */
  record Split(List<Service> services, String rest) {
    boolean hasRest() {
      return rest.lines().map(String::strip).anyMatch(l -> !l.isEmpty() && !l.startsWith("#") && !l.equals("---"));
    }
  }

  /** What an apply did: the services as stored (with their VIPs), the policy file written (if any) and warnings. */
  record Applied(List<String> services, @Nullable Path policy, List<String> warnings) {}

  /** Splits a file's text; a document that is not a {@code v1 Service} stays in {@code rest}, untouched. */
  static Split split(String text) {
    List<String> lines = text.lines().toList();
    List<Service> services = new ArrayList<>();
    StringBuilder rest = new StringBuilder();
    int from = 0;
    for (int i = 0; i <= lines.size(); i++) {
      if (i < lines.size() && !SEPARATOR.matcher(lines.get(i)).matches()) {
        continue;
      }
      List<String> doc = lines.subList(from, i);
      Service svc = service(String.join("\n", doc));
      for (String l : doc) {
        rest.append(svc == null ? l : "#").append('\n');
      }
      if (svc != null) {
        services.add(svc);
      }
      if (i < lines.size()) {
        rest.append(lines.get(i)).append('\n');
      }
      from = i + 1;
    }
    return new Split(List.copyOf(services), rest.toString());
  }

  /** The document as a Service if it is one ({@code apiVersion: v1}, {@code kind: Service}). */
  private static @Nullable Service service(String doc) {
    Object parsed;
    try {
      parsed = SERIALIZATION.unmarshal(doc, Map.class);
    } catch (RuntimeException e) {
      return null; // not for us: the control plane's parser reports it
    }
    if (parsed instanceof Map<?, ?> m && "v1".equals(m.get("apiVersion")) && "Service".equals(m.get("kind"))) {
      try {
        return SERIALIZATION.unmarshal(doc, Service.class);
      } catch (RuntimeException e) {
        throw new IllegalArgumentException("not applied, a Service does not parse: " + e.getMessage());
      }
    }
    return null;
  }

  static Applied apply(Path file, LabState state) throws Exception {
    if (!Files.isRegularFile(file)) {
      throw new IllegalArgumentException("no such file: " + file);
    }
    Split split = split(Files.readString(file));
    List<String> problems = new ArrayList<>();
    split.services().forEach(s -> problems.addAll(LabServices.problems(s)));
    if (!problems.isEmpty()) {
      throw new IllegalArgumentException("not applied, " + file + " has errors:\n  " + String.join("\n  ", problems));
    }
    LabState.Info info = state.require();
    List<String> stored = new ArrayList<>();
    if (!split.services().isEmpty()) {
      if (split.hasRest()) {
        PolicyFiles.check(file, split.rest());
      }
      try (AutoCloseable lock = state.lock(); KubernetesClient k8s = Pods.client(info.apiServer())) {
        for (Service s : split.services()) {
          stored.add(store(k8s, s, info.layout().subnet()));
        }
      }
    }
    if (!split.hasRest()) {
      return new Applied(stored, null, List.of());
    }
    PolicyFiles.Applied p = PolicyFiles.apply(file, split.rest(), state.configDir());
    return new Applied(stored, p.target(), p.warnings());
  }

  /** Creates or replaces the Service in the API server, its VIP allocated if none is given; "ns/name VIP:ports". */
  private static String store(KubernetesClient k8s, Service s, int subnet) {
    String ns = Objects.requireNonNullElse(s.getMetadata().getNamespace(), "default");
    s.getMetadata().setNamespace(ns);
    Service existing = k8s.services().inNamespace(ns).withName(s.getMetadata().getName()).get();
    String ip = s.getSpec().getClusterIP();
    if (ip == null || ip.isEmpty()) {
      String kept = existing == null || existing.getSpec() == null ? null : existing.getSpec().getClusterIP();
      if (kept == null || kept.isEmpty()) {
        Set<String> used = new HashSet<>();
        k8s.services().inAnyNamespace().list().getItems().forEach(o -> used.addAll(LabServices.facts(o).vips()));
        kept = LabServices.allocateVip(subnet, used);
      }
      s.getSpec().setClusterIP(kept);
      s.getSpec().setClusterIPs(List.of(kept));
    } else if (s.getSpec().getClusterIPs() == null || s.getSpec().getClusterIPs().isEmpty()) {
      s.getSpec().setClusterIPs(List.of(ip));
    }
    if (existing == null) {
      k8s.services().inNamespace(ns).resource(s).create();
    } else {
      s.getMetadata().setResourceVersion(existing.getMetadata().getResourceVersion());
      k8s.services().inNamespace(ns).resource(s).update();
    }
    LabServices.ServiceFacts f = LabServices.facts(s);
    return ns + "/" + f.name() + " " + String.join(",", f.vips()) + " ports " + f.ports().stream()
        .map(p -> p.port() + (p.targetPort() == p.port() ? "" : "->" + (p.targetPort() == 0 ? "named" : p.targetPort())))
        .toList();
  }

  /** {@code lab delete -f FILE}: deletes the file's Services and its applied policy file; what went. */
  static List<String> delete(Path file, LabState state) throws Exception {
    if (!Files.isRegularFile(file)) {
      throw new IllegalArgumentException("no such file: " + file);
    }
    Split split = split(Files.readString(file));
    LabState.Info info = state.require();
    List<String> gone = new ArrayList<>();
    if (!split.services().isEmpty()) {
      try (AutoCloseable lock = state.lock(); KubernetesClient k8s = Pods.client(info.apiServer())) {
        for (Service s : split.services()) {
          String ns = Objects.requireNonNullElse(s.getMetadata().getNamespace(), "default");
          if (!k8s.services().inNamespace(ns).withName(s.getMetadata().getName()).delete().isEmpty()) {
            gone.add("service " + ns + "/" + s.getMetadata().getName());
          }
        }
      }
    }
    if (PolicyFiles.delete(file, state.configDir())) {
      gone.add(state.configDir().resolve("applied").resolve(PolicyFiles.appliedName(file)).toString());
    }
    return gone;
  }
}
