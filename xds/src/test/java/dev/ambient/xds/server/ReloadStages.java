package dev.ambient.xds.server;

import dev.ambient.xds.api.Rpc;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Stage timings of the control plane's change path, in one JVM and without the network: "one file edited ->
 * new stored snapshot -> encoded push", for a directory written by the bench's {@code XdsConfigGenerator}
 * (10,000 workloads, 1,000 services, 1,000 policies in {@code ns-NN/workloads.yaml} and {@code policies.yaml}).
 * Runs what {@code ControlPlane} runs on its config thread (the {@link Integrations#configSource} loader,
 * {@link StoredResources}, {@link ResourceStore}) and what a wildcard stream runs on a push
 * ({@link TypeSubscription#next}, {@link DeltaStream#response}, serialised), with the control plane's warm-up
 * first. Edits alternate as in {@code ./ambient bench xds}: one workload's {@code canonicalRevision}, then an
 * extra local policy added to or removed from a namespace; each file is written next to the directory and
 * renamed over the old one.
 *
 * <p>Usage: {@code ReloadStages DIR [edits] [gapMillis]}. Prints median, p99 (nearest rank) and max per stage.
 * Not a test: run it with the xds test classpath.
 */
public final class ReloadStages {
  private final Path dir;
  private final ConfigSource source;
  private final StoredResources addresses = new StoredResources();
  private final StoredResources policies = new StoredResources();
  private final ResourceStore store = new ResourceStore();
  private final Map<String, TypeSubscription> subscriptions = new LinkedHashMap<>();
  private boolean compareAll = true;

  private ReloadStages(Path dir) {
    this.dir = dir;
    this.source = Integrations.configSource(dir);
    for (String type : List.of(Rpc.TYPE_ADDRESS, Rpc.TYPE_AUTHORIZATION)) {
      TypeSubscription sub = new TypeSubscription();
      sub.applyInitial(List.of(), List.of(), Map.of());
      subscriptions.put(type, sub);
    }
  }

  public static void main(String[] args) throws Exception {
    Path dir = Path.of(args[0]);
    int edits = args.length > 1 ? Integer.parseInt(args[1]) : 200;
    long gap = args.length > 2 ? Long.parseLong(args[2]) : 50;
    ReloadStages s = new ReloadStages(dir);
    long t0 = System.nanoTime();
    s.reload();
    System.out.printf(Locale.ROOT, "first load %.0f ms%n", (System.nanoTime() - t0) / 1e6);
    for (int i = 0; i < ControlPlane.WARM_UP_RELOADS; i++) { // as ControlPlane.warmUp
      s.source.warmUp();
      s.reload();
      for (String type : List.of(Rpc.TYPE_ADDRESS, Rpc.TYPE_AUTHORIZATION)) {
        ControlPlane.warmUpPush(s.store.snapshot(type));
      }
    }
    s.push(); // the stream's initial full sync
    double[][] ms = new double[4][edits];
    for (int i = 0; i < edits; i++) {
      Thread.sleep(gap);
      long a = System.nanoTime();
      s.edit(i);
      long b = System.nanoTime();
      LoadedConfig loaded = s.source.load();
      long c = System.nanoTime();
      s.store(loaded);
      long d = System.nanoTime();
      int bytes = s.push();
      long e = System.nanoTime();
      if (bytes == 0) {
        throw new IllegalStateException("edit " + i + " pushed nothing");
      }
      ms[0][i] = (c - b) / 1e6;
      ms[1][i] = (d - c) / 1e6;
      ms[2][i] = (e - d) / 1e6;
      ms[3][i] = (e - b) / 1e6;
    }
    String[] names = {"load (ConfigSource.load)", "store (StoredResources + publish)", "push (diff + encode)",
        "total (load to encoded push)"};
    System.out.printf(Locale.ROOT, "%d edits, %d ms apart; first 5 totals: %s%n", edits, gap,
        Arrays.toString(Arrays.stream(ms[3]).limit(5).mapToObj(v -> String.format(Locale.ROOT, "%.1f", v)).toArray()));
    for (int k = 0; k < names.length; k++) {
      double[] sorted = ms[k].clone();
      Arrays.sort(sorted);
      System.out.printf(Locale.ROOT, "%-36s median %6.2f ms  p99 %6.2f ms  max %6.2f ms%n", names[k],
          rank(sorted, 50), rank(sorted, 99), sorted[sorted.length - 1]);
    }
  }

  private static double rank(double[] sorted, int p) {
    return sorted[Math.max(0, (int) Math.ceil(p / 100.0 * sorted.length) - 1)];
  }

  /** As ControlPlane.reload, without the logging. */
  private void reload() {
    store(source.load());
  }

  private void store(LoadedConfig loaded) {
    LoadedConfig.Changes changes = compareAll ? null : loaded.changes();
    Map<String, StoredResources.Update> byType = new LinkedHashMap<>();
    byType.put(Rpc.TYPE_ADDRESS, addresses.update(loaded.addresses(), loaded.aliases(),
        changes == null ? null : changes.addresses()));
    byType.put(Rpc.TYPE_AUTHORIZATION, policies.update(loaded.policies(), Map.of(),
        changes == null ? null : changes.policies()));
    store.publishChanges(byType);
    compareAll = false;
  }

  /** What each wildcard stream does on a push; returns the encoded bytes. */
  private int push() {
    int bytes = 0;
    for (var e : subscriptions.entrySet()) {
      TypeSnapshot snapshot = store.snapshot(e.getKey());
      TypeSubscription.Delta delta = e.getValue().next(snapshot);
      if (!delta.isEmpty()) {
        bytes += DeltaStream.response(e.getKey(), "n", snapshot, delta, new java.util.HashMap<>()).build()
            .toByteString().size();
      }
    }
    return bytes;
  }

  private void edit(int i) throws IOException {
    int ns = (i / 2) % 50;
    if (i % 2 == 0) {
      Path file = dir.resolve(String.format(Locale.ROOT, "ns-%02d/workloads.yaml", ns));
      String text = Files.readString(file);
      // the (i / 100)-th workload of the file gets a new revision
      int at = -1;
      for (int k = 0; k <= (i / 100) % 150; k++) {
        at = text.indexOf("canonicalRevision: ", at + 1);
      }
      int end = text.indexOf('\n', at);
      replace(file, text.substring(0, at) + "canonicalRevision: rev-" + i + text.substring(end));
    } else {
      Path file = dir.resolve(String.format(Locale.ROOT, "ns-%02d/policies.yaml", ns));
      String text = Files.readString(file);
      String extra = String.format(Locale.ROOT, """
          - name: stage-extra
            namespace: ns-%02d
            scope: Namespace
            action: Allow
            dryRun: false
            rules:
            - - - notDestinationPorts: [9999]
          """, ns);
      replace(file, text.contains(extra) ? text.replace(extra, "") : text.replaceFirst("(?m)^policies:\n", "policies:\n" + extra));
    }
  }

  private void replace(Path file, String text) throws IOException {
    Path tmp = dir.resolveSibling(".stage-edit.tmp");
    Files.writeString(tmp, text);
    Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
  }
}
