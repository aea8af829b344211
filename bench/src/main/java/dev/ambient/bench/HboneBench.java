package dev.ambient.bench;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code ./ambient bench hbone}: single-stream throughput over loopback of
 * (a) raw TCP, (b) an HAProxy mTLS (TLS 1.3) tunnel pair and (c) an HBONE client/server pair, each
 * side its own process; prints the medians and the ratios (c)/(a), (c)/(b) and writes JSON to
 * {@code <out>/hbone-<UTC timestamp>.json}.
 *
 * <p>Fairness: each tunnel side is one process with one I/O thread: HAProxy {@code nbthread 1},
 * HBONE JVMs with one Netty event loop (the JVM still has its GC and JIT threads). Every mode gets
 * one unrecorded warm-up run (which for (b) and (c) also opens the tunnel connection that the
 * recorded runs then reuse, as a long-lived mesh connection would be), then {@code reps} recorded
 * runs; the median is reported. Every child process is killed at the end, also on failure.
 */
public final class HboneBench {
  private static final Pattern JSON_GBPS = Pattern.compile(
      "\\{\"bytes\":(\\d+),\"seconds\":([0-9.]+),\"gbps\":([0-9.]+),\"cpu_seconds\":([0-9.]+)}");
  /** A sample is "disturbed" when other processes used more than this share of all CPUs during it. */
  static final double DISTURBED = 0.10;
  static final String DEFAULT_CIPHERSUITES = "TLS_AES_256_GCM_SHA384:TLS_AES_128_GCM_SHA256";

  private final List<Process> children = new CopyOnWriteArrayList<>();
  private final Options opt;
  private final Path work;
  private final String javaBin;
  private final String classpath;
  private volatile boolean keepWork;

  record Options(long bytes, long warmupBytes, int reps, Path out, List<String> tunnelJvmOpts, int loops,
      boolean profile, String command, boolean keepWork, String ciphersuites, double idleBelow,
      int idleWaitSeconds, int maxFrameSize, String modes) {}

  /**
   * One recorded run. {@code busyBefore}: CPU busy share just before; {@code foreignCpu}: share of all
   * CPUs used during the run by processes other than this benchmark's.
   */
  record Sample(long bytes, double seconds, double gbps, double busyBefore, double foreignCpu) {
    Sample withBusy(double busy) {
      return new Sample(bytes, seconds, gbps, busy, foreignCpu);
    }

    boolean disturbed() {
      return foreignCpu > DISTURBED;
    }
  }

  private HboneBench(Options opt) throws IOException {
    this.opt = opt;
    this.work = Files.createTempDirectory("ambient-bench-hbone-");
    this.javaBin = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    this.classpath = System.getProperty("java.class.path");
    this.keepWork = opt.keepWork;
  }

  public static void main(String[] args) throws Exception {
    Options opt = parse(args);
    HboneBench bench = new HboneBench(opt);
    Thread hook = new Thread(bench::killAll, "kill-children");
    Runtime.getRuntime().addShutdownHook(hook);
    int status = 0;
    try {
      bench.run();
    } catch (Exception e) {
      bench.keepWork = true;
      System.err.println("bench hbone: FAILED");
      e.printStackTrace();
      System.err.println("bench hbone: logs in " + bench.work);
      status = 1;
    } finally {
      bench.killAll();
    }
    System.exit(status);
  }

  static void usage() {
    System.out.println("""
        usage: ./ambient bench hbone [--bytes N[K|M|G]] [--reps R] [--warmup-bytes N] [--quick]
                                     [--loops L] [--jvm-opts "..."] [--profile] [--out DIR] [--keep]
                                     [--haproxy-ciphersuites LIST] [--idle-below PCT] [--idle-wait S]
                                     [--hbone-max-frame-size N] [--modes abc]
          --bytes         bytes per recorded run (default 2G)
          --reps          recorded runs per mode; the median is reported (default 3)
          --warmup-bytes  bytes of the one unrecorded warm-up run per mode (default: --bytes)
          --quick         smoke run: --bytes 128M --reps 1 --warmup-bytes 64M
          --loops         Netty event loops per HBONE JVM (default 1; HAProxy gets nbthread = loops)
          --jvm-opts      JVM flags of the two HBONE JVMs (default: -Xms1g -Xmx1g -XX:+UseParallelGC)
          --profile       record JFR (settings=profile) in both HBONE JVMs into <out>/jfr-<stamp>/
          --out           results directory (default bench/results)
          --keep          keep the temporary directory (certificates, configs, logs)
          --haproxy-ciphersuites  TLS 1.3 suites of both HAProxy sides, in preference order
                          (default TLS_AES_256_GCM_SHA384:TLS_AES_128_GCM_SHA256)
          --idle-below    before each run wait until the machine is less than PCT% busy (default 15)
          --idle-wait     ... but at most S seconds (default 120); the busy % is recorded per sample
          --hbone-max-frame-size  SETTINGS_MAX_FRAME_SIZE the HBONE server advertises (default: the
                          library's Http2Config.serverDefaults(), 1 MiB)
          --modes         which of a, b, c to run (default abc; ratios need all three)""");
  }

  static Options parse(String[] args) {
    long bytes = 2L << 30;
    Long warmup = null;
    int reps = 3;
    int loops = 1;
    boolean profile = false;
    boolean keep = false;
    String ciphers = DEFAULT_CIPHERSUITES;
    double idleBelow = 0.15;
    int idleWait = 120;
    int maxFrame = 0;
    String modes = "abc";
    Path out = Path.of("bench", "results");
    List<String> jvm = List.of("-Xms1g", "-Xmx1g", "-XX:+UseParallelGC");
    for (int i = 0; i < args.length; i++) {
      String a = args[i];
      switch (a) {
        case "--bytes" -> bytes = size(args[++i]);
        case "--warmup-bytes" -> warmup = size(args[++i]);
        case "--reps" -> reps = Integer.parseInt(args[++i]);
        case "--loops" -> loops = Integer.parseInt(args[++i]);
        case "--quick" -> {
          bytes = 128L << 20;
          reps = 1;
          warmup = 64L << 20;
          idleWait = 5;
        }
        case "--jvm-opts" -> jvm = List.of(args[++i].trim().split("\\s+"));
        case "--profile" -> profile = true;
        case "--keep" -> keep = true;
        case "--haproxy-ciphersuites" -> ciphers = args[++i];
        case "--idle-below" -> idleBelow = Integer.parseInt(args[++i]) / 100.0;
        case "--idle-wait" -> idleWait = Integer.parseInt(args[++i]);
        case "--hbone-max-frame-size" -> maxFrame = (int) size(args[++i]);
        case "--modes" -> modes = args[++i];
        case "--out" -> out = Path.of(args[++i]);
        case "-h", "--help" -> {
          usage();
          System.exit(0);
        }
        default -> {
          usage();
          throw new IllegalArgumentException("unknown option " + a);
        }
      }
    }
    if (reps < 1 || bytes < 1 || loops < 1) {
      throw new IllegalArgumentException("--bytes, --reps and --loops must be positive");
    }
    String command = System.getProperty("bench.command", "HboneBench " + String.join(" ", args));
    return new Options(bytes, warmup != null ? warmup : bytes, reps, out, jvm, loops,
        profile, command, keep, ciphers, idleBelow, idleWait, maxFrame, modes);
  }

  static long size(String s) {
    String t = s.trim().toUpperCase(Locale.ROOT).replace("IB", "").replace("B", "");
    long mul = 1;
    char last = t.charAt(t.length() - 1);
    if (last == 'K' || last == 'M' || last == 'G') {
      mul = switch (last) {
        case 'K' -> 1L << 10;
        case 'M' -> 1L << 20;
        default -> 1L << 30;
      };
      t = t.substring(0, t.length() - 1);
    }
    return Long.parseLong(t) * mul;
  }

  void run() throws Exception {
    Instant started = Instant.now();
    String stamp = DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'").withZone(ZoneOffset.UTC).format(started);
    Files.createDirectories(opt.out);
    Path jfrDir = opt.out.resolve("jfr-" + stamp);
    System.out.printf("bench hbone: %s per run, %d run(s) per mode (median), warm-up %s; work dir %s%n",
        human(opt.bytes), opt.reps, human(opt.warmupBytes), work);

    BenchCerts.mint(work.resolve("certs"));
    Map<String, String> machine = machine();

    // The sink serves every mode.
    int sinkPort = startJava("sink", List.of("-Xmx256m", "-XX:+UseSerialGC"), TcpSink.class, List.of("0"));

    Map<String, List<Sample>> samples = new LinkedHashMap<>();
    Map<String, String> notes = new LinkedHashMap<>();

    // (b) HAProxy mTLS tunnel pair
    int hapServer = freePort();
    int hapClient = freePort();
    Path certs = work.resolve("certs").resolve("haproxy");
    startHaproxy("haproxy-server", hapServer, """
        frontend tls_in
          bind 127.0.0.1:%d ssl crt %s ca-file %s verify required ssl-min-ver TLSv1.3 ciphersuites %s
          log global
          log-format "haproxy-server accepted %%sslv %%sslc"
          default_backend sink
        backend sink
          server sink 127.0.0.1:%d
        """.formatted(hapServer, certs.resolve("server.pem"), certs.resolve("ca.pem"), opt.ciphersuites(), sinkPort));
    startHaproxy("haproxy-client", hapClient, """
        frontend plain_in
          bind 127.0.0.1:%d
          default_backend tls_out
        backend tls_out
          server tunnel 127.0.0.1:%d ssl verify required ca-file %s crt %s ssl-min-ver TLSv1.3 ciphersuites %s
        """.formatted(hapClient, hapServer, certs.resolve("ca.pem"), certs.resolve("client.pem"), opt.ciphersuites()));

    // (c) HBONE pair
    List<String> serverJvm = new ArrayList<>(opt.tunnelJvmOpts);
    List<String> clientJvm = new ArrayList<>(opt.tunnelJvmOpts);
    if (opt.profile) {
      Files.createDirectories(jfrDir);
      serverJvm.add("-XX:StartFlightRecording:settings=profile,filename=" + jfrDir.resolve("hbone-server.jfr"));
      clientJvm.add("-XX:StartFlightRecording:settings=profile,filename=" + jfrDir.resolve("hbone-client.jfr"));
    }
    int hboneServer = startJava("hbone-server", serverJvm, HboneTunnelServer.class,
        List.of("0", work.resolve("certs/server").toString(), Integer.toString(opt.loops),
            Integer.toString(opt.maxFrameSize)));
    int hboneClient = startJava("hbone-client", clientJvm, HboneTunnelClient.class,
        List.of("0", work.resolve("certs/client").toString(), Integer.toString(hboneServer),
            BenchCerts.SERVER_ID.toString(), Integer.toString(sinkPort), Integer.toString(opt.loops)));

    // Warm-up, then the recorded runs round-robin over the modes (a, b, c, a, b, c, ...) so that
    // any outside load on the machine hits all modes alike; each run waits for an idle machine.
    Map<String, Integer> ports = new LinkedHashMap<>();
    for (String mode : List.of("a", "b", "c")) {
      if (opt.modes.contains(mode)) {
        ports.put(mode, switch (mode) {
          case "a" -> sinkPort;
          case "b" -> hapClient;
          default -> hboneClient;
        });
      }
    }
    Map<String, String> names = Map.of("a", "(a) raw TCP", "b", "(b) HAProxy mTLS pair", "c", "(c) HBONE pair");
    for (var e : ports.entrySet()) {
      samples.put(e.getKey(), new ArrayList<>());
      waitIdle();
      Sample w = source(e.getValue(), opt.warmupBytes);
      System.out.printf(Locale.ROOT, "%s: warm-up %.3f Gbit/s (%s)%n", names.get(e.getKey()), w.gbps,
          human(opt.warmupBytes));
    }
    for (int i = 1; i <= opt.reps; i++) {
      for (var e : ports.entrySet()) {
        double busy = waitIdle();
        Sample x = source(e.getValue(), opt.bytes).withBusy(busy);
        System.out.printf(Locale.ROOT, "%s: run %d/%d %.3f Gbit/s (%.2f s; others used %.0f%% of the CPUs)%n",
            names.get(e.getKey()), i, opt.reps, x.gbps, x.seconds, x.foreignCpu * 100);
        samples.get(e.getKey()).add(x);
      }
    }
    notes.put("b", grep(work.resolve("haproxy-server.log"), "haproxy-server accepted"));
    notes.put("c", grep(work.resolve("hbone-client.log"), "HBONE connection"));
    machine.put("loadavg_at_end", read(Path.of("/proc/loadavg")));
    killAll(false);

    // Report.
    double a = samples.containsKey("a") ? median(samples.get("a")) : Double.NaN;
    double b = samples.containsKey("b") ? median(samples.get("b")) : Double.NaN;
    double c = samples.containsKey("c") ? median(samples.get("c")) : Double.NaN;
    System.out.println();
    System.out.printf("%-28s %14s   %s%n", "mode", "median Gbit/s", "samples Gbit/s");
    for (var e : samples.entrySet()) {
      row(names.get(e.getKey()), e.getValue());
    }
    System.out.printf(Locale.ROOT, "(* = disturbed: other processes used more than %.0f%% of the CPUs during the run;"
        + " the median leaves those out unless all are)%n", DISTURBED * 100);
    System.out.printf(Locale.ROOT, "%n(c)/(a) = %.3f   (c)/(b) = %.3f   (goal for (c)/(b): >= 1.0)%n", c / a, c / b);
    for (var e : notes.entrySet()) {
      System.out.println("(" + e.getKey() + ") " + e.getValue());
    }

    Path json = opt.out.resolve("hbone-" + stamp + ".json");
    Files.writeString(json, json(started, machine, samples, notes, a, b, c));
    System.out.println("\nresults: " + json);
    if (opt.profile) {
      System.out.println("JFR recordings: " + jfrDir + " (e.g. jfr print --events jdk.ExecutionSample ...)");
    }
  }

  private static void row(String name, List<Sample> s) {
    StringBuilder sb = new StringBuilder();
    for (Sample x : s) {
      sb.append(String.format(Locale.ROOT, "%.3f%s ", x.gbps, x.disturbed() ? "*" : ""));
    }
    System.out.printf(Locale.ROOT, "%-28s %14.3f   %s%n", name, median(s), sb.toString().trim());
  }

  /** Median over the undisturbed samples, or over all when every sample was disturbed. */
  static double median(List<Sample> s) {
    List<Sample> clean = s.stream().filter(x -> !x.disturbed()).toList();
    return medianAll(clean.isEmpty() ? s : clean);
  }

  static double medianAll(List<Sample> s) {
    double[] v = s.stream().mapToDouble(Sample::gbps).sorted().toArray();
    return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
  }

  /**
   * Waits until the machine is idle enough to measure: CPU busy below {@code --idle-below} over one
   * second, for at most {@code --idle-wait}. Returns the last busy fraction seen (recorded).
   */
  private double waitIdle() throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(opt.idleWaitSeconds);
    double busy = cpuBusy();
    boolean said = false;
    while (busy > opt.idleBelow && System.nanoTime() < deadline) {
      if (!said) {
        System.out.printf(Locale.ROOT, "  machine %.0f%% busy (other processes); waiting up to %d s for < %.0f%%%n",
            busy * 100, opt.idleWaitSeconds, opt.idleBelow * 100);
        said = true;
      }
      busy = cpuBusy();
    }
    return busy;
  }

  private static final double CLK_TCK = 100; // USER_HZ on Linux

  /** CPU jiffies (user + system) of this JVM and its live children (sink, HAProxy, HBONE JVMs). */
  private long ownJiffies() {
    long sum = jiffies(ProcessHandle.current().pid());
    for (Process p : children) {
      sum += jiffies(p.pid());
      for (ProcessHandle d : p.toHandle().descendants().toList()) {
        sum += jiffies(d.pid());
      }
    }
    return sum;
  }

  private static long jiffies(long pid) {
    try {
      String st = Files.readString(Path.of("/proc/" + pid + "/stat"));
      String[] f = st.substring(st.lastIndexOf(')') + 2).split(" ");
      return Long.parseLong(f[11]) + Long.parseLong(f[12]); // utime, stime (fields 14, 15)
    } catch (IOException | RuntimeException e) {
      return 0;
    }
  }

  /** Fraction of all CPUs busy over one second, from /proc/stat. */
  static double cpuBusy() throws InterruptedException {
    return MachineFacts.cpuBusy(1000);
  }


  private Sample source(int port, long bytes) throws Exception {
    List<String> cmd = new ArrayList<>(List.of(javaBin, "-Xmx256m", "-XX:+UseSerialGC", "-cp", classpath,
        TcpSource.class.getName(), "127.0.0.1", Integer.toString(port), Long.toString(bytes)));
    Path outFile = work.resolve("source.out");
    ProcessBuilder pb = new ProcessBuilder(cmd)
        .redirectOutput(outFile.toFile())
        .redirectError(ProcessBuilder.Redirect.appendTo(work.resolve("source.log").toFile()));
    long[] cpu0 = MachineFacts.cpuTimes();
    long own0 = ownJiffies();
    Process p = pb.start();
    children.add(p);
    try {
      // Generous bound: 20 MB/s plus a minute; a stuck tunnel fails the run instead of hanging it.
      long limitSec = 60 + bytes / 20_000_000L;
      if (!p.waitFor(limitSec, TimeUnit.SECONDS)) {
        throw new IllegalStateException("source did not finish within " + limitSec + " s");
      }
      String out = Files.readString(outFile);
      Matcher m = JSON_GBPS.matcher(out);
      if (p.exitValue() != 0 || !m.find()) {
        throw new IllegalStateException("source failed (exit " + p.exitValue() + "): " + out.trim()
            + " / " + tail(work.resolve("source.log")));
      }
      long[] cpu1 = MachineFacts.cpuTimes();
      long own1 = ownJiffies();
      double total = cpu1[0] - cpu0[0];
      double busy = total - (cpu1[1] - cpu0[1]);
      double sourceJiffies = Double.parseDouble(m.group(4)) * CLK_TCK;
      double foreign = total <= 0 ? 0 : Math.max(0, busy - (own1 - own0) - sourceJiffies) / total;
      return new Sample(Long.parseLong(m.group(1)), Double.parseDouble(m.group(2)), Double.parseDouble(m.group(3)),
          -1, foreign);
    } finally {
      p.destroyForcibly();
      children.remove(p);
    }
  }

  /** Starts a main of this module in its own JVM and waits for its {@code READY <port>} line. */
  private int startJava(String name, List<String> jvmOpts, Class<?> main, List<String> args) throws Exception {
    List<String> cmd = new ArrayList<>();
    cmd.add(javaBin);
    cmd.add("--enable-native-access=ALL-UNNAMED");
    cmd.add("--sun-misc-unsafe-memory-access=allow");
    cmd.addAll(jvmOpts);
    cmd.add("-cp");
    cmd.add(classpath);
    cmd.add(main.getName());
    cmd.addAll(args);
    Path log = work.resolve(name + ".log");
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    children.add(p);
    Files.writeString(work.resolve(name + ".cmd"), String.join(" ", cmd));
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (System.nanoTime() < deadline) {
      for (String line : Files.readAllLines(log)) {
        if (line.startsWith("READY ")) {
          System.out.println(name + ": " + line);
          return Integer.parseInt(line.split(" ")[1]);
        }
      }
      if (!p.isAlive()) {
        throw new IllegalStateException(name + " exited with " + p.exitValue() + ": " + tail(log));
      }
      Thread.sleep(50);
    }
    throw new IllegalStateException(name + " did not get ready in 30 s: " + tail(log));
  }

  private Process startHaproxy(String name, int port, String proxies) throws Exception {
    String cfg = """
        global
          nbthread %d
          log stdout format raw local0
          ssl-default-bind-options ssl-min-ver TLSv1.3
          ssl-default-bind-ciphersuites %s
          ssl-default-server-options ssl-min-ver TLSv1.3
          ssl-default-server-ciphersuites %s
        defaults
          mode tcp
          log global
          timeout connect 5s
          timeout client 120s
          timeout server 120s
        """.formatted(opt.loops, opt.ciphersuites(), opt.ciphersuites()) + proxies;
    Path file = work.resolve(name + ".cfg");
    Files.writeString(file, cfg);
    Path log = work.resolve(name + ".log");
    Process p = new ProcessBuilder("haproxy", "-db", "-f", file.toString())
        .redirectErrorStream(true).redirectOutput(log.toFile()).start();
    children.add(p);
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (System.nanoTime() < deadline) {
      if (listening(port)) {
        System.out.println(name + ": listening on " + port + " (" + file + ")");
        return p;
      }
      if (!p.isAlive()) {
        throw new IllegalStateException(name + " exited with " + p.exitValue() + ": " + tail(log));
      }
      Thread.sleep(50);
    }
    throw new IllegalStateException(name + " did not listen on " + port + " in 20 s: " + tail(log));
  }

  /** Whether 127.0.0.1:port is in LISTEN state (from /proc/net/tcp; no probe connection). */
  static boolean listening(int port) throws IOException {
    String local = String.format("0100007F:%04X", port);
    for (String line : Files.readAllLines(Path.of("/proc/net/tcp"))) {
      String[] f = line.trim().split("\\s+");
      if (f.length > 3 && f[1].equals(local) && f[3].equals("0A")) {
        return true;
      }
    }
    return false;
  }

  static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }

  private void stop(Process p) {
    p.toHandle().descendants().forEach(ProcessHandle::destroy);
    p.destroy();
    try {
      if (!p.waitFor(10, TimeUnit.SECONDS)) {
        p.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      p.destroyForcibly();
    }
    children.remove(p);
  }

  synchronized void killAll() {
    killAll(!keepWork);
  }

  synchronized void killAll(boolean deleteWork) {
    for (Process p : List.copyOf(children)) {
      stop(p);
    }
    if (deleteWork) {
      deleteTree(work);
    }
  }

  private static void deleteTree(Path dir) {
    try (var s = Files.walk(dir)) {
      s.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
    } catch (IOException | UncheckedIOException e) {
      // best effort
    }
  }

  private static String tail(Path log) {
    try {
      List<String> lines = Files.readAllLines(log);
      return String.join("\n", lines.subList(Math.max(0, lines.size() - 20), lines.size()));
    } catch (IOException e) {
      return "(no log: " + e + ")";
    }
  }

  private static String grep(Path log, String needle) {
    try {
      return Files.readAllLines(log).stream().filter(l -> l.contains(needle)).findFirst().orElse("").trim();
    } catch (IOException e) {
      return "";
    }
  }

  static String human(long bytes) {
    if (bytes % (1L << 30) == 0) {
      return (bytes >> 30) + " GiB";
    }
    if (bytes % (1L << 20) == 0) {
      return (bytes >> 20) + " MiB";
    }
    return bytes + " bytes";
  }

  private Map<String, String> machine() {
    Map<String, String> m = MachineFacts.common();
    m.put("transport", dev.ambient.net.Transport.defaultTransport().label());
    m.put("haproxy", exec("haproxy", "-v").lines().findFirst().orElse("?").trim());
    m.put("haproxy_ssl", exec("haproxy", "-vv").lines().filter(l -> l.startsWith("Running on OpenSSL"))
        .findFirst().orElse("?").trim());
    return m;
  }

  static String read(Path p) {
    return MachineFacts.read(p);
  }

  private static String exec(String... cmd) {
    try {
      Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      p.waitFor(10, TimeUnit.SECONDS);
      return out;
    } catch (IOException e) {
      return "?";
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return "?";
    }
  }

  private String json(Instant started, Map<String, String> machine, Map<String, List<Sample>> samples,
      Map<String, String> notes, double a, double b, double c) {
    StringBuilder j = new StringBuilder("{\n");
    j.append("  \"suite\": \"hbone\",\n");
    j.append("  \"date\": ").append(q(started.toString())).append(",\n");
    j.append("  \"command\": ").append(q(opt.command)).append(",\n");
    j.append("  \"machine\": {");
    j.append(String.join(",", machine.entrySet().stream().map(e -> "\n    " + q(e.getKey()) + ": " + q(e.getValue())).toList()));
    j.append("\n  },\n");
    j.append("  \"config\": {\n");
    j.append("    \"bytes_per_run\": ").append(opt.bytes).append(",\n");
    j.append("    \"warmup_bytes\": ").append(opt.warmupBytes).append(",\n");
    j.append("    \"reps\": ").append(opt.reps).append(",\n");
    j.append("    \"io_threads_per_tunnel_process\": ").append(opt.loops).append(",\n");
    j.append("    \"hbone_server_max_frame_size\": ").append(opt.maxFrameSize == 0 ? "\"default\"" : Integer.toString(opt.maxFrameSize)).append(",\n");
    j.append("    \"hbone_jvm_opts\": ").append(q(String.join(" ", opt.tunnelJvmOpts))).append(",\n");
    j.append("    \"tls\": ").append(q("TLS 1.3 only, ciphersuites " + opt.ciphersuites() + " (HAProxy); HBONE: HboneTls defaults")).append(",\n");
    j.append("    \"order\": \"one warm-up per mode, then rounds a,b,c\",\n");
    j.append("    \"idle_below\": ").append(fmt(opt.idleBelow)).append(",\n");
    j.append("    \"disturbed_above_foreign_cpu\": ").append(fmt(DISTURBED)).append(",\n");
    j.append("    \"median\": \"over undisturbed samples, or all when every sample was disturbed\",\n");
    j.append("    \"profile\": ").append(opt.profile).append("\n");
    j.append("  },\n");
    j.append("  \"modes\": {\n");
    Map<String, String> labels = Map.of("a", "raw TCP", "b", "HAProxy mTLS tunnel pair", "c", "HBONE client/server pair");
    List<String> modes = new ArrayList<>();
    for (var e : samples.entrySet()) {
      StringBuilder m = new StringBuilder();
      m.append("    ").append(q(e.getKey())).append(": {\"label\": ").append(q(labels.get(e.getKey())))
          .append(", \"median_gbps\": ").append(fmt(median(e.getValue())))
          .append(", \"median_gbps_all_samples\": ").append(fmt(medianAll(e.getValue())));
      if (notes.containsKey(e.getKey())) {
        m.append(", \"note\": ").append(q(notes.get(e.getKey())));
      }
      m.append(", \"samples\": [");
      m.append(String.join(", ", e.getValue().stream().map(s -> "{\"bytes\": " + s.bytes + ", \"seconds\": "
          + fmt(s.seconds) + ", \"gbps\": " + fmt(s.gbps) + ", \"cpu_busy_before\": " + fmt(s.busyBefore) + ", \"foreign_cpu\": " + fmt(s.foreignCpu)
          + ", \"disturbed\": " + s.disturbed() + "}")
          .toList()));
      m.append("]}");
      modes.add(m.toString());
    }
    j.append(String.join(",\n", modes)).append("\n  },\n");
    j.append("  \"ratios\": {\"c_over_a\": ").append(fmt(c / a)).append(", \"c_over_b\": ").append(fmt(c / b))
        .append("}\n}\n");
    return j.toString();
  }

  private static String fmt(double d) {
    if (Double.isNaN(d)) {
      return "null";
    }
    return String.format(Locale.ROOT, "%.4f", d);
  }

  private static String q(String s) {
    return JsonStrings.quote(s);
  }

}
