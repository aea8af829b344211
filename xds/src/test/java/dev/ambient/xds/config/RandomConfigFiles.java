package dev.ambient.xds.config;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;

/**
 * Random edits of a small config directory, for property tests of incremental loading: a few files that are
 * rewritten, added, deleted and broken at random, holding workloads (that move between namespaces and change
 * labels), services, local policies, selector and namespace AuthorizationPolicies (some in the root namespace,
 * some unsupported, some named like a local policy) and PeerAuthentications. Names come from small pools so that
 * duplicates across files, and their errors, happen often. Tracks each file's last good text, i.e. what a loader
 * must serve.
 */
public final class RandomConfigFiles {
  static final List<String> FILES = List.of("a.yaml", "b.yaml", "sub/c.yaml", "sub/d.yml", "z.yaml");
  static final List<String> NAMESPACES = List.of("ns-a", "ns-b", "istio-system");

  private final Path dir;
  private final Random random;
  /** Last good text per existing file (absent: the file does not exist or never parsed). */
  private final Map<Path, String> good = new TreeMap<>();
  private final Map<Path, Boolean> bad = new TreeMap<>();

  public RandomConfigFiles(Path dir, long seed) {
    this.dir = dir;
    this.random = new Random(seed);
  }

  /** Applies one random edit; returns a short description for failure messages. */
  public String step() throws IOException {
    Path file = dir.resolve(FILES.get(random.nextInt(FILES.size())));
    int op = random.nextInt(100);
    if (op < 15 && Files.exists(file)) {
      Files.delete(file);
      good.remove(file);
      bad.remove(file);
      return "delete " + file.getFileName();
    }
    if (op < 25) {
      write(file, "workloads: [{uid: x, nope: 1}]\n");
      return "break " + file.getFileName();
    }
    if (op < 30 && good.containsKey(file)) {
      write(file, good.get(file)); // the same text again: nothing changes
      return "rewrite " + file.getFileName();
    }
    write(file, content());
    return "write " + file.getFileName();
  }

  private void write(Path file, String text) throws IOException {
    Files.createDirectories(file.getParent());
    Path tmp = file.getParent().resolve(".tmp-" + file.getFileName()); // hidden: never loaded
    Files.writeString(tmp, text);
    Files.move(tmp, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING,
        java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    try {
      ConfigDocument.parseAll(text);
      good.put(file, text);
      bad.remove(file);
    } catch (ConfigException e) {
      bad.put(file, true);
    }
  }

  /** What a loader must serve: each existing file's last good documents, in path order. */
  public Map<Path, List<ConfigDocument>> lastGoodDocuments() {
    Map<Path, List<ConfigDocument>> out = new TreeMap<>();
    good.forEach((file, text) -> out.put(file, ConfigDocument.parseAll(text)));
    return out;
  }

  /** How many existing files are bad now (each is one load error). */
  public int badFiles() {
    return bad.size();
  }

  private String content() {
    StringBuilder y = new StringBuilder();
    int docs = 1 + random.nextInt(3);
    for (int d = 0; d < docs; d++) {
      if (d > 0) {
        y.append("---\n");
      }
      int kind = random.nextInt(10);
      if (kind < 5) {
        local(y);
      } else if (kind < 9) {
        authorizationPolicy(y);
      } else {
        peerAuthentication(y);
      }
    }
    return y.toString();
  }

  private String pick(List<String> from) {
    return from.get(random.nextInt(from.size()));
  }

  private void local(StringBuilder y) {
    int start = y.length();
    int workloads = random.nextInt(4);
    if (workloads > 0) {
      y.append("workloads:\n");
      for (int i = 0; i < workloads; i++) {
        int u = random.nextInt(8);
        y.append("- uid: u").append(u).append('\n')
            .append("  name: w").append(u).append('\n')
            .append("  namespace: ").append(pick(NAMESPACES)).append('\n')
            .append("  workloadIps: [\"198.18.0.").append(1 + u).append("\"]\n")
            .append("  canonicalRevision: v").append(random.nextInt(3)).append('\n');
        if (random.nextBoolean()) {
          y.append("  labels: {app: ").append(pick(List.of("x", "y"))).append("}\n");
        }
        if (random.nextInt(4) == 0) {
          y.append("  authorizationPolicies: [ns-a/explicit]\n");
        }
      }
    }
    if (random.nextInt(3) == 0) {
      int s = random.nextInt(3);
      y.append("services:\n- namespace: ns-a\n  hostname: s").append(s).append(".ns-a.svc.cluster.local\n")
          .append("  vips: [\"net/198.19.0.").append(1 + s + random.nextInt(2) * 10).append("\"]\n");
    }
    if (random.nextInt(2) == 0) {
      y.append("policies:\n");
      int n = 1 + random.nextInt(2);
      for (int i = 0; i < n; i++) {
        y.append("- name: ").append(pick(List.of("p0", "p1", "ap0"))).append('\n')
            .append("  namespace: ").append(pick(List.of("ns-a", "ns-b"))).append('\n')
            .append("  scope: Namespace\n  action: Allow\n  dryRun: ").append(random.nextBoolean()).append('\n')
            .append("  rules: [[[{notDestinationPorts: [").append(9000 + random.nextInt(3)).append("]}]]]\n");
      }
    }
    if (y.length() == start) {
      y.append("workloads: []\n");
    }
  }

  private void authorizationPolicy(StringBuilder y) {
    y.append("apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\n")
        .append("metadata: {name: ").append(pick(List.of("ap0", "ap1", "ap2"))).append(", namespace: ")
        .append(pick(NAMESPACES)).append("}\n");
    int shape = random.nextInt(6);
    if (shape == 0) {
      y.append("spec: {action: CUSTOM, provider: {name: ext}}\n"); // a warning, no policy
    } else if (shape == 1) {
      y.append("spec:\n  action: DENY\n  rules: [{to: [{operation: {ports: [\"").append(8000 + random.nextInt(2))
          .append("\"]}}]}]\n");
    } else {
      y.append("spec:\n  selector: {matchLabels: {app: ").append(pick(List.of("x", "y"))).append("}}\n")
          .append("  rules: [{from: [{source: {principals: [\"").append(pick(List.of("*", "a", "b")))
          .append("\"]}}]}]\n");
    }
  }

  private void peerAuthentication(StringBuilder y) {
    String ns = pick(NAMESPACES);
    y.append("apiVersion: security.istio.io/v1beta1\nkind: PeerAuthentication\n")
        .append("metadata: {name: ").append(pick(List.of("default", "pa1"))).append(", namespace: ").append(ns)
        .append("}\n");
    if (random.nextBoolean() || ns.equals("istio-system")) {
      y.append("spec: {mtls: {mode: ").append(pick(List.of("STRICT", "PERMISSIVE"))).append("}}\n");
    } else {
      y.append("spec: {selector: {matchLabels: {app: ").append(pick(List.of("x", "y")))
          .append("}}, mtls: {mode: STRICT}, portLevelMtls: {8080: {mode: PERMISSIVE}}}\n");
    }
  }
}
