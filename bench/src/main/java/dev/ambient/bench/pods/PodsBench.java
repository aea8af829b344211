package dev.ambient.bench.pods;

import dev.ambient.bench.MachineFacts;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.OptionalDouble;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * {@code ./ambient bench pods} (root): a 1-node {@code ./ambient lab} (its own state directory and
 * subnet), then {@code --pods} ambient pods added one after another with {@code lab pod add}, each
 * CNI ADD timed as the lab (the runtime) sees it, the plugin exec into the node's namespace
 * included ({@code AMBIENT_LAB_CNI_TIMINGS}). "ZDS add to listeners ready" is measured on the agent's
 * side: from the AddWorkload send to ztunnel's ack, which ztunnel sends once the pod's listeners are
 * bound (the agent's "captured" log line). ztunnel's VmRSS before the timed pods and with {@code --pods} and
 * {@code --total} idle enrolled pods gives KiB per pod. {@code --warmup} pods (default 1) go first and
 * count for neither: the first ADD with a new plugin jar builds the plugin's AppCDS archive (the node
 * agent's install would), and the first pod pays one-off costs in the agent and ztunnel. Prints median and p99 against the goals and
 * writes JSON to {@code --out}. {@code lab down} runs at the end, on failure and on Ctrl-C.
 */
public final class PodsBench {
  private static final DateTimeFormatter STAMP =
      DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'").withZone(ZoneOffset.UTC);

  private final Path ambient;
  private final Path out;
  private final Path state;
  private final int warmup;
  private final int pods;
  private final int total;
  private final int subnet;
  private final Duration settle;
  private final Path timings;
  private final AtomicBoolean down = new AtomicBoolean();

  PodsBench(Path ambient, Path out, Path state, int warmup, int pods, int total, int subnet, Duration settle) {
    this.warmup = warmup;
    this.ambient = ambient;
    this.out = out;
    this.state = state;
    this.pods = pods;
    this.total = total;
    this.subnet = subnet;
    this.settle = settle;
    this.timings = state.resolveSibling(state.getFileName() + "-cni-timings.txt");
  }

  public static void main(String[] args) throws Exception {
    Path ambient = Path.of("./ambient");
    Path out = Path.of("bench/results");
    Path state = Path.of("/run/ambient-lab-bench-pods");
    int warmup = 1;
    int pods = 50;
    int total = 100;
    int subnet = 120;
    int settleSeconds = 10;
    for (int i = 0; i < args.length; i++) {
      String a = args[i];
      String v = i + 1 < args.length ? args[i + 1] : "";
      switch (a) {
        case "--ambient" -> ambient = Path.of(v);
        case "--out" -> out = Path.of(v);
        case "--state" -> state = Path.of(v);
        case "--pods" -> pods = Integer.parseInt(v);
        case "--warmup" -> warmup = Integer.parseInt(v);
        case "--total" -> total = Integer.parseInt(v);
        case "--subnet" -> subnet = Integer.parseInt(v);
        case "--settle" -> settleSeconds = Integer.parseInt(v);
        default -> {
          System.err.println("bench pods: unknown option " + a);
          System.exit(2);
        }
      }
      i++;
    }
    if (pods < 1 || total < pods || warmup < 0 || warmup + total > 250) {
      System.err.println("bench pods: want 1 <= --pods <= --total, --warmup >= 0, --warmup + --total <= 250"
          + " (one node's pod subnet)");
      System.exit(2);
    }
    if (!"root".equals(System.getProperty("user.name"))) {
      System.err.println("bench pods: needs root (./ambient lab)");
      System.exit(1);
    }
    PodsBench b = new PodsBench(ambient, out, state, warmup, pods, total, subnet, Duration.ofSeconds(settleSeconds));
    Runtime.getRuntime().addShutdownHook(new Thread(b::labDown));
    int rc;
    try {
      rc = b.run();
    } finally {
      b.labDown();
    }
    // The lab's supervisor log (<state dir>.log) outlives lab down for failed starts; a finished run removes it.
    Files.deleteIfExists(state.resolveSibling(state.getFileName() + ".log"));
    System.exit(rc);
  }

  int run() throws Exception {
    Instant started = Instant.now();
    Files.deleteIfExists(timings);
    Map<String, Object> loads = new LinkedHashMap<>();
    loads.put("start", loadAverage());
    System.out.println("bench pods: lab up --nodes 1 --subnet " + subnet + " (state " + state + ")");
    lab(Duration.ofSeconds(300), "up", "--nodes", "1", "--subnet", Integer.toString(subnet));
    String processes = Files.readString(state.resolve("processes.txt"));
    long ztunnel = PodsFigures.pid(processes, "node-0", "ztunnel")
        .orElseThrow(() -> new IllegalStateException("no ztunnel in " + state.resolve("processes.txt") + ":\n" + processes));
    for (int i = 1; i <= warmup; i++) {
      lab(Duration.ofSeconds(120), "pod", "add", "w" + i, "--node", "node-0", "--namespace", "bench",
          "--labels", "app=w" + i);
    }
    Thread.sleep(settle);
    long rss0 = rssKib(ztunnel);
    long heap0 = liveHeapKib(ztunnel);
    System.out.printf(Locale.ROOT, "ztunnel pid %d: VmRSS %d KiB with %d warm-up pod(s) (load %s)%n", ztunnel, rss0,
        warmup, loadAverage());
    long rssAtPods = 0;
    long heapAtPods = -1;
    for (int i = 1; i <= total; i++) {
      lab(Duration.ofSeconds(120), "pod", "add", "p" + i, "--node", "node-0", "--namespace", "bench",
          "--labels", "app=p" + i);
      if (i == pods) {
        loads.put("after_" + pods + "_pods", loadAverage());
        Thread.sleep(settle);
        rssAtPods = rssKib(ztunnel);
        heapAtPods = liveHeapKib(ztunnel);
        System.out.printf(Locale.ROOT, "%d pods: VmRSS %d KiB (load %s)%n", i, rssAtPods, loadAverage());
      } else if (i % 10 == 0) {
        System.out.printf(Locale.ROOT, "%d pods added%n", i);
      }
    }
    Thread.sleep(settle);
    long rssAtTotal = rssKib(ztunnel);
    long heapAtTotal = liveHeapKib(ztunnel);
    loads.put("after_" + total + "_pods", loadAverage());
    System.out.printf(Locale.ROOT, "%d pods: VmRSS %d KiB (load %s)%n", total, rssAtTotal, loadAverage());

    List<PodsFigures.CniTiming> adds = PodsFigures.cniTimings(Files.readString(timings)).stream()
        .filter(t -> t.command().equals("ADD")).toList();
    List<Double> warmupMs = adds.stream().limit(warmup).map(PodsFigures.CniTiming::millis).toList();
    List<Double> addMs = adds.stream().skip(warmup).limit(pods).map(PodsFigures.CniTiming::millis).toList();
    String agentLog = Files.readString(state.resolve("nodes/node-0/cni-agent.log"));
    List<PodsFigures.AgentTiming> agent = PodsFigures.agentTimings(agentLog);
    List<Double> zdsMs = agent.stream().skip(warmup).limit(pods).map(PodsFigures.AgentTiming::zdsAckMillis).toList();
    List<Double> rulesMs = agent.stream().skip(warmup).limit(pods).map(PodsFigures.AgentTiming::rulesMillis).toList();
    double addP99 = PodsFigures.percentile(addMs, 99).orElse(Double.NaN);
    double kibPerPod = PodsFigures.kibPerPod(rss0, rssAtTotal, total);
    boolean addPass = addMs.size() == pods && addP99 < PodsFigures.ADD_P99_GOAL_MS;
    boolean memPass = kibPerPod < PodsFigures.KIB_PER_POD_GOAL;

    System.out.println();
    System.out.printf(Locale.ROOT, "CNI ADD (runtime's view, %d pods): median %s, p99 %s, max %s  goal p99 < %.0f ms: %s%n",
        addMs.size(), fmt(PodsFigures.median(addMs)), fmt(PodsFigures.percentile(addMs, 99)),
        fmt(PodsFigures.percentile(addMs, 100)), PodsFigures.ADD_P99_GOAL_MS, PodsFigures.verdict(addPass));
    System.out.printf(Locale.ROOT, "ZDS add to ack (agent's view, %d pods): median %s, p99 %s%n", zdsMs.size(),
        fmt(PodsFigures.median(zdsMs)), fmt(PodsFigures.percentile(zdsMs, 99)));
    System.out.printf(Locale.ROOT, "agent redirection rules (%d pods): median %s, p99 %s%n", rulesMs.size(),
        fmt(PodsFigures.median(rulesMs)), fmt(PodsFigures.percentile(rulesMs, 99)));
    System.out.printf(Locale.ROOT, "ztunnel VmRSS: %d KiB idle, %d KiB with %d pods (%.1f KiB/pod), %d KiB with %d pods"
        + " (%.1f KiB/pod)  goal < %.0f KiB/pod: %s%n", rss0, rssAtPods, pods, PodsFigures.kibPerPod(rss0, rssAtPods, pods),
        rssAtTotal, total, kibPerPod, PodsFigures.KIB_PER_POD_GOAL, PodsFigures.verdict(memPass));
    if (heap0 >= 0 && heapAtTotal >= 0) {
      System.out.printf(Locale.ROOT, "ztunnel heap after a full GC: %d KiB, %d KiB with %d pods, %d KiB with %d pods"
          + " (%.1f KiB/pod over %d pods)%n", heap0, heapAtPods, pods, heapAtTotal, total,
          PodsFigures.kibPerPod(heap0, heapAtTotal, total), total);
    }
    System.out.println("warm-up ADD (not counted): " + warmupMs + " ms; load averages: " + loads);

    Map<String, Object> r = new LinkedHashMap<>();
    r.put("suite", "pods");
    r.put("command", System.getProperty("bench.command", "PodsBench"));
    r.put("utc", started.toString());
    r.put("machine", MachineFacts.common());
    r.put("load_average", loads);
    r.put("warmup_pods", warmup);
    r.put("warmup_add_ms", warmupMs);
    r.put("pods_timed", pods);
    r.put("pods_total", total);
    r.put("cni_add_ms", Map.of("what", "lab's exec of the istio-cni launcher in the node netns, wall time",
        "median", PodsFigures.median(addMs).orElse(Double.NaN), "p99", addP99,
        "max", PodsFigures.percentile(addMs, 100).orElse(Double.NaN), "samples", addMs));
    r.put("zds_add_to_ack_ms", Map.of("what", "agent: AddWorkload sent to ztunnel's ack (sent after the pod's listeners are bound)",
        "median", PodsFigures.median(zdsMs).orElse(Double.NaN), "p99", PodsFigures.percentile(zdsMs, 99).orElse(Double.NaN),
        "samples", zdsMs));
    r.put("agent_rules_ms", Map.of("median", PodsFigures.median(rulesMs).orElse(Double.NaN),
        "p99", PodsFigures.percentile(rulesMs, 99).orElse(Double.NaN)));
    r.put("ztunnel_rss_kib", Map.of("idle", rss0, "at_" + pods, rssAtPods, "at_" + total, rssAtTotal,
        "what", "VmRSS of the node's ztunnel after --settle s: idle = with the warm-up pods only"));
    r.put("kib_per_pod", kibPerPod);
    r.put("ztunnel_live_heap_kib", Map.of("what", "jcmd GC.run then GC.heap_info used (-1: jcmd failed)",
        "idle", heap0, "at_" + pods, heapAtPods, "at_" + total, heapAtTotal,
        "kib_per_pod", heap0 >= 0 && heapAtTotal >= 0 ? PodsFigures.kibPerPod(heap0, heapAtTotal, total) : Double.NaN));
    r.put("goals", Map.of("cni_add_p99_ms", PodsFigures.ADD_P99_GOAL_MS, "cni_add_pass", addPass,
        "kib_per_pod", PodsFigures.KIB_PER_POD_GOAL, "kib_per_pod_pass", memPass));
    Files.createDirectories(out);
    Path file = out.resolve("pods-" + STAMP.format(started) + ".json");
    Files.writeString(file, JsonOut.write(r));
    System.out.println("results: " + file);
    return addPass && memPass ? 0 : 3;
  }

  private static String fmt(OptionalDouble d) {
    return d.isPresent() ? PodsFigures.ms(d.getAsDouble()) : "n/a";
  }

  static long rssKib(long pid) throws IOException {
    return PodsFigures.vmRssKib(Files.readString(Path.of("/proc", Long.toString(pid), "status")))
        .orElseThrow(() -> new IOException("no VmRSS for pid " + pid));
  }

  /**
   * ztunnel's used heap right after a full GC ({@code jcmd GC.run}, then {@code GC.heap_info}): what
   * the pods retain, without the garbage that VmRSS includes. -1 when jcmd fails (reported, not fatal).
   */
  static long liveHeapKib(long pid) throws InterruptedException {
    Path jcmd = Path.of(System.getProperty("java.home"), "bin", "jcmd");
    try {
      jcmdRun(jcmd, pid, "GC.run");
      return PodsFigures.heapUsedKib(jcmdRun(jcmd, pid, "GC.heap_info")).orElse(-1);
    } catch (IOException e) {
      System.err.println("bench pods: jcmd " + pid + ": " + e.getMessage());
      return -1;
    }
  }

  private static String jcmdRun(Path jcmd, long pid, String what) throws IOException, InterruptedException {
    Process p = new ProcessBuilder(jcmd.toString(), Long.toString(pid), what).redirectErrorStream(true).start();
    p.getOutputStream().close();
    String text = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
      p.destroyForcibly();
      throw new IOException(what + " failed: " + text.strip());
    }
    return text;
  }

  static String loadAverage() {
    String s = MachineFacts.read(Path.of("/proc/loadavg")).strip();
    String[] f = s.split(" ");
    return f.length >= 3 ? f[0] + " " + f[1] + " " + f[2] : s;
  }

  /** Runs {@code ./ambient lab ARGS} with this run's state directory; fails with its output on a non-zero exit. */
  private String lab(Duration timeout, String... args) throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>(List.of(ambient.toString(), "lab"));
    cmd.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
    pb.environment().put("AMBIENT_LAB_DIR", state.toString());
    pb.environment().put("AMBIENT_LAB_CNI_TIMINGS", timings.toString());
    Process p = pb.start();
    p.getOutputStream().close();
    byte[] output = p.getInputStream().readAllBytes();
    if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
      p.destroyForcibly();
      throw new IOException("lab " + String.join(" ", args) + " did not finish in " + timeout.toSeconds() + " s");
    }
    String text = new String(output, StandardCharsets.UTF_8);
    if (p.exitValue() != 0) {
      throw new IOException("lab " + String.join(" ", args) + " exited " + p.exitValue() + ": " + text.strip());
    }
    return text;
  }

  /** {@code lab down}, once (the shutdown hook and the normal end both call it). */
  void labDown() {
    if (!down.compareAndSet(false, true)) {
      return;
    }
    try {
      System.out.println("bench pods: lab down");
      lab(Duration.ofSeconds(120), "down");
      Files.deleteIfExists(timings);
    } catch (IOException | RuntimeException e) {
      System.err.println("bench pods: lab down failed: " + e.getMessage());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
