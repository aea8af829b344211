package dev.ambient.bench.l4;

import dev.ambient.bench.BenchCerts;
import dev.ambient.testing.netns.NetnsTopology;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;

/**
 * {@code ./ambient bench l4}: L4 traffic between two node network namespaces (client node, server
 * node) on one bridge, in one run: (a) direct, (b) through an HAProxy mTLS (TLS 1.3) pair, one
 * HAProxy per node, (c) through two ztunnels ({@code ./ambient ztunnel}, dedicated mode, one per
 * node, separate JVMs) with iptables capture in the client node and the control plane in the root
 * namespace. Per leg: single-connection iperf3 throughput, fixed-rate HTTP latency with {@code hey},
 * CPU seconds of the proxy processes per 1,000 requests and their RSS idle and with many open
 * connections. Prints medians, ratios, added latency and the goals; writes
 * {@code <out>/l4-<UTC>.json}. Everything it creates carries one prefix and is removed at the end,
 * also on failure and on Ctrl-C (shutdown hook; scripts/bench.sh also runs {@code --cleanup}).
 */
public final class L4Bench {
  static final int CLIENT = 0;
  static final int SERVER = 1;
  static final int HTTP_PORT = 8080;
  static final int IPERF_PORT = 5201;
  static final int HAP_CLIENT_HTTP = 18080;
  static final int HAP_CLIENT_IPERF = 15201;
  static final int HAP_SERVER_HTTP = 9443;
  static final int HAP_SERVER_IPERF = 9444;
  static final int XDS_PORT = 15012;
  static final String SERVICE_VIP = "198.18.1.1";
  static final String CAPTURE_CHAIN = "L4BENCH_OUTPUT";
  static final String PACKET_MARK = "0x539";
  /** ztunnel's own ports: never captured. */
  static final String ZTUNNEL_PORTS = "15000,15001,15006,15008,15020,15021";
  /** Unrecorded hey runs per leg before the recorded ones (each with new connections). */
  static final int HEY_WARMUP_RUNS = 3;

  enum Leg {
    DIRECT("a", "direct"), HAPROXY("b", "HAProxy mTLS pair"), ZTUNNEL("c", "ztunnel pair"),
    INPOD("d", "in-pod lab pods");

    final String key;
    final String label;

    Leg(String key, String label) {
      this.key = key;
      this.label = label;
    }

    String title() {
      return "(" + key + ") " + label;
    }
  }

  record Options(int reps, int durationSeconds, int heyWarmupSeconds, int rate, int connections, int holdConnections, String legs,
      Path out, boolean keep, String prefix, Path ambient, int haproxyThreads, String ztunnelJvmOpts,
      int readyTimeoutSeconds, int labSubnet, Path labState, int idlePauseSeconds, String command) {}

  /** What one leg collected. */
  static final class LegData {
    final Leg leg;
    String status = "not run";
    final List<Double> gbps = new ArrayList<>();
    final List<HeyResult> latency = new ArrayList<>();
    final List<Double> cpuPer1000 = new ArrayList<>();
    final List<Long> proxyPids = new ArrayList<>();
    final Map<String, Long> rssStart = new LinkedHashMap<>();
    final Map<String, Long> rssIdle = new LinkedHashMap<>();
    final Map<String, Long> rssConns = new LinkedHashMap<>();
    String holdResult = "";

    LegData(Leg leg) {
      this.leg = leg;
    }

    boolean ready() {
      return status.equals("ready");
    }
  }

  private final Options opt;
  private final int hold;
  private final long fdLimit;
  private final Path work;
  private final List<Process> rootChildren = new CopyOnWriteArrayList<>();
  private final Map<Leg, LegData> legs = new EnumMap<>(Leg.class);
  private @Nullable NetnsTopology net;
  private boolean captureInstalled;
  private @Nullable String podServerIp;
  private boolean labStarted;
  private volatile boolean keepWork;
  private volatile boolean shuttingDown;

  private L4Bench(Options opt) throws IOException {
    this.opt = opt;
    this.work = Files.createTempDirectory("ambient-bench-l4-");
    this.keepWork = opt.keep;
    this.fdLimit = ProcStats.openFilesHardLimit(read(Path.of("/proc/self/limits")));
    this.hold = effectiveHold(opt.holdConnections, fdLimit);
    for (Leg l : Leg.values()) {
      if (opt.legs.contains(l.key)) {
        legs.put(l, new LegData(l));
      }
    }
  }

  public static void main(String[] args) throws Exception {
    if (args.length == 2 && args[0].equals("--cleanup")) {
      NetnsTopology.cleanupLeftovers(args[1]);
      return;
    }
    Options opt = parse(args);
    L4Bench bench = new L4Bench(opt);
    // Ctrl-C / SIGTERM: remove everything (the work dir too, unless --keep); a failure keeps the logs.
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      bench.shuttingDown = true;
      bench.tearDown();
    }, "l4-teardown"));
    int status = 0;
    try {
      bench.run();
    } catch (Exception e) {
      if (bench.shuttingDown) {
        System.exit(130);
      }
      bench.keepWork = true;
      System.err.println("bench l4: FAILED: " + e.getMessage());
      e.printStackTrace();
      System.err.println("bench l4: logs in " + bench.work);
      status = 1;
    } finally {
      bench.tearDown();
    }
    System.exit(status);
  }

  static void usage() {
    System.out.println("""
        usage: ./ambient bench l4 [--reps R] [--duration S] [--hey-warmup S] [--quick] [--rate N] [--connections C]
                                  [--hold N] [--legs abc] [--haproxy-threads T] [--ztunnel-jvm-opts "..."]
                                  [--inpod] [--lab-subnet S] [--lab-state DIR] [--idle-pause S] [--keep] [--out DIR]
          --reps        recorded runs per leg and measurement; the median is reported (default 3)
          --duration    seconds per iperf3 and per hey run (default 10)
          --hey-warmup  seconds of each of the 3 unrecorded hey runs per leg right before the recorded ones
                        (default: --duration, at most 5; the iperf3 warm-up is the same, never longer)
          --quick       smoke run: --reps 1 --duration 3 --hold 2000
          --rate        requests/s of the fixed-rate latency runs (default 1000)
          --connections hey connections (workers) sharing that rate (default 4)
          --hold        connections opened and held for the RSS figure (default 10000)
          --legs        which of a (direct), b (HAProxy), c (ztunnel), d (in-pod) to run (default abc)
          --inpod       add leg d: a 2-node ./ambient lab (shared-mode ztunnels, pods captured by the CNI
                        plugin), client pod on node-0, server pod on node-1, traffic to the server pod's IP
          --lab-subnet  the lab's subnet S of leg d (198.18.S.0/24, pods S+1, S+2; default 130)
          --lab-state   the lab's state directory of leg d (default /run/ambient-lab-bench-l4)
          --haproxy-threads  nbthread of each HAProxy (default 1)
          --ztunnel-jvm-opts JVM flags of the ztunnels (AMBIENT_JAVA_OPTS; default: the launcher's)
          --ready-timeout    seconds to wait for a ztunnel's /healthz/ready (default 90)
          --idle-pause  after the idle RSS is taken, print the proxies' pids and wait S seconds (for jcmd,
                        smaps; default 0)
          --keep        keep the work directory (certificates, configs, logs)
          --out         results directory (default bench/results)""");
  }

  static Options parse(String[] args) {
    int reps = 3;
    int duration = 10;
    int warmup = -1;
    int rate = 1000;
    int connections = 4;
    int hold = 10_000;
    String legs = "abc";
    Path out = Path.of("bench", "results");
    boolean keep = false;
    String prefix = NetnsTopology.uniquePrefix("l4b");
    Path ambient = Path.of("ambient").toAbsolutePath();
    int haproxyThreads = 1;
    String ztunnelJvmOpts = "";
    int readyTimeout = 90;
    int labSubnet = 130;
    Path labState = Path.of("/run/ambient-lab-bench-l4");
    boolean inpod = false;
    int idlePause = 0;
    for (int i = 0; i < args.length; i++) {
      String a = args[i];
      switch (a) {
        case "--reps" -> reps = Integer.parseInt(value(args, ++i, a));
        case "--duration" -> duration = Integer.parseInt(value(args, ++i, a));
        case "--hey-warmup" -> warmup = Integer.parseInt(value(args, ++i, a));
        case "--quick" -> {
          reps = 1;
          duration = 3;
          hold = 2000;
        }
        case "--rate" -> rate = Integer.parseInt(value(args, ++i, a));
        case "--connections" -> connections = Integer.parseInt(value(args, ++i, a));
        case "--hold" -> hold = Integer.parseInt(value(args, ++i, a));
        case "--legs" -> legs = value(args, ++i, a);
        case "--out" -> out = Path.of(value(args, ++i, a));
        case "--keep" -> keep = true;
        case "--prefix" -> prefix = value(args, ++i, a);
        case "--ambient" -> ambient = Path.of(value(args, ++i, a)).toAbsolutePath();
        case "--haproxy-threads" -> haproxyThreads = Integer.parseInt(value(args, ++i, a));
        case "--ztunnel-jvm-opts" -> ztunnelJvmOpts = value(args, ++i, a);
        case "--ready-timeout" -> readyTimeout = Integer.parseInt(value(args, ++i, a));
        case "--inpod" -> inpod = true;
        case "--idle-pause" -> idlePause = Integer.parseInt(value(args, ++i, a));
        case "--lab-subnet" -> labSubnet = Integer.parseInt(value(args, ++i, a));
        case "--lab-state" -> labState = Path.of(value(args, ++i, a)).toAbsolutePath();
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
    if (warmup == 0 || warmup < -1) {
      throw new IllegalArgumentException("--hey-warmup must be positive");
    }
    if (reps < 1 || duration < 1 || rate < 1 || connections < 1 || hold < 0 || haproxyThreads < 1) {
      throw new IllegalArgumentException("--reps, --duration, --rate, --connections, --haproxy-threads must be positive");
    }
    if (idlePause < 0) {
      throw new IllegalArgumentException("--idle-pause must not be negative");
    }
    if (rate % connections != 0) {
      throw new IllegalArgumentException("--rate must be a multiple of --connections (hey rate-limits per connection)");
    }
    if (inpod && !legs.contains("d")) {
      legs = legs + "d";
    }
    if (!legs.matches("[abcd]+")) {
      throw new IllegalArgumentException("--legs takes letters of abcd, got " + legs);
    }
    if (labSubnet < 2 || labSubnet > 250) {
      throw new IllegalArgumentException("--lab-subnet must be 2..250 (198.18.S.0/24, pods in S+1 and S+2), got "
          + labSubnet);
    }
    String command = System.getProperty("bench.command", "L4Bench " + String.join(" ", args));
    int heyWarmup = warmup < 0 ? Math.min(duration, 5) : warmup;
    return new Options(reps, duration, heyWarmup, rate, connections, hold, legs, out, keep, prefix, ambient, haproxyThreads,
        ztunnelJvmOpts, readyTimeout, labSubnet, labState, idlePause, command);
  }

  private static String value(String[] args, int i, String option) {
    if (i >= args.length) {
      throw new IllegalArgumentException(option + " needs a value");
    }
    return args[i];
  }

  /**
   * How many connections to hold: the request, but no more than a proxy process can carry within the
   * open-files hard limit (two descriptors per connection, 256 to spare); 0 stays 0.
   */
  static int effectiveHold(int requested, long hardLimit) {
    long fits = Math.max(0, (hardLimit - 256) / 2);
    return (int) Math.min(requested, fits);
  }

  /** Topology subnets the bench may use (198.18.S.0/24), preferred first; never leg d's lab subnets nor the VIP's. */
  private List<Integer> subnetCandidates() {
    List<Integer> c = new ArrayList<>();
    for (int s = 0; s <= 90; s += 10) {
      boolean lab = legs.containsKey(Leg.INPOD) && s >= opt.labSubnet() && s <= opt.labSubnet() + 2;
      if (!lab) {
        c.add(s);
      }
    }
    return c;
  }

  /**
   * The first candidate S whose 198.18.S.0/24 no address or route of this machine mentions ({@code used}:
   * the output of {@code ip -o addr} and {@code ip route}). Two topologies on one subnet share the root
   * namespace's route to it, and the later one's probes and traffic reach the earlier one's nodes (see
   * "start-up race" in docs/performance.md).
   */
  static int freeSubnet(String used, List<Integer> candidates) {
    for (int s : candidates) {
      if (!used.contains("198.18." + s + ".")) {
        return s;
      }
    }
    throw new IllegalStateException("no free 198.18.S.0/24 for the bench topology (S in " + candidates + "): "
        + "another bench or lab is using all of them; see `ip -o addr`");
  }

  /**
   * Whether {@code ip route get ADDRESS} output ({@code "198.18.0.10 dev l4b1234-br src 198.18.0.1 uid 0"})
   * sends the packets out of {@code device}.
   */
  static boolean routedVia(String ipRouteGet, String device) {
    List<String> words = List.of(ipRouteGet.strip().split("\\s+"));
    int i = words.indexOf("dev");
    return i >= 0 && i + 1 < words.size() && words.get(i + 1).equals(device);
  }

  /**
   * Fails when the root namespace reaches the nodes through another link than this run's bridge: another
   * topology on the same subnet (created between {@link #freeSubnet} and now) would answer the readiness
   * probes and the control plane's replies would go to it.
   */
  private void requireOwnRoutes() {
    NetnsTopology n = net();
    for (int node : List.of(CLIENT, SERVER)) {
      String route = rootOutput("ip", "route", "get", n.nodeAddress(node));
      if (!routedVia(route, n.bridge())) {
        throw new IllegalStateException("the root namespace routes " + n.nodeAddress(node) + " via another link than "
            + n.bridge() + " (" + route.strip() + "): another topology uses the same subnet; run again");
      }
    }
  }

  private static String rootOutput(String... cmd) {
    try {
      Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
      p.getOutputStream().close();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (!p.waitFor(10, TimeUnit.SECONDS) || p.exitValue() != 0) {
        throw new IllegalStateException(String.join(" ", cmd) + " failed: " + out.strip());
      }
      return out;
    } catch (IOException e) {
      throw new IllegalStateException(String.join(" ", cmd) + ": " + e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(String.join(" ", cmd) + ": interrupted", e);
    }
  }

  private NetnsTopology net() {
    if (net == null) {
      throw new IllegalStateException("no topology");
    }
    return net;
  }

  void run() throws Exception {
    Instant started = Instant.now();
    String stamp = DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'").withZone(ZoneOffset.UTC).format(started);
    Files.createDirectories(opt.out);
    System.out.printf(Locale.ROOT, "bench l4: legs %s, %d rep(s), %d s per run, %d req/s over %d connections,"
            + " hold %d connections; prefix %s, work dir %s%n", opt.legs, opt.reps, opt.durationSeconds, opt.rate,
        opt.connections, opt.holdConnections, opt.prefix, work);
    Map<String, String> machine = machine();
    if (hold < opt.holdConnections) {
      System.out.printf("bench l4: holding %d connections, not %d: the open-files hard limit is %d and a proxy"
          + " process needs two descriptors per connection (raising it needs CAP_SYS_RESOURCE)%n", hold,
          opt.holdConnections, fdLimit);
    }

    int subnet = freeSubnet(rootOutput("ip", "-o", "addr") + rootOutput("ip", "route"), subnetCandidates());
    net = NetnsTopology.create(opt.prefix, 2, subnet);
    requireOwnRoutes();
    String serverIp = net.nodeAddress(SERVER);
    System.out.printf("topology: bridge %s %s, client node %s %s, server node %s %s%n", net.bridge(),
        net.bridgeAddress(), net.netns(CLIENT), net.nodeAddress(CLIENT), net.netns(SERVER), serverIp);

    // The server node's applications, shared by every leg.
    spawnJava(SERVER, "http-server", List.of("-Xmx256m", "-XX:+UseSerialGC"), FixedResponseServer.class,
        List.of("0.0.0.0", Integer.toString(HTTP_PORT), "1024"));
    net.spawn(SERVER, Map.of(), work.resolve("iperf3-server.log"), "iperf3", "-s", "-p", Integer.toString(IPERF_PORT));
    awaitListening(SERVER, HTTP_PORT, "http-server");
    awaitListening(SERVER, IPERF_PORT, "iperf3-server");

    legs.values().forEach(d -> d.status = "ready");
    if (legs.containsKey(Leg.HAPROXY)) {
      startHaproxyPair(legs.get(Leg.HAPROXY));
    }
    if (legs.containsKey(Leg.ZTUNNEL)) {
      startZtunnelPair(legs.get(Leg.ZTUNNEL));
    }
    if (legs.containsKey(Leg.INPOD)) {
      startInpod(legs.get(Leg.INPOD));
    }
    for (LegData d : legs.values()) {
      for (long pid : d.proxyPids) {
        d.rssStart.put(processName(pid), ProcStats.rssBytes(pid));
      }
    }
    List<LegData> active = legs.values().stream().filter(LegData::ready).toList();

    // Warm-up (unrecorded), then the recorded runs round-robin a, b, c, a, b, c, ... Each kind of run
    // gets its own warm-up right before its rounds: the JVMs compile (and, after the bulk iperf3
    // profile, recompile) their relay path for small request/response traffic during the first
    // seconds of hey, and that one-off JIT work used to land in the first recorded hey run's CPU.
    int warm = Math.min(opt.durationSeconds, 5);
    for (LegData d : active) {
      iperf(d, warm);
      System.out.println(d.leg.title() + ": iperf3 warmed up");
    }
    for (int r = 1; r <= opt.reps; r++) {
      for (LegData d : active) {
        IperfResult x = iperf(d, opt.durationSeconds);
        d.gbps.add(x.gbps());
        System.out.printf(Locale.ROOT, "%s: iperf3 run %d/%d %.3f Gbit/s%n", d.leg.title(), r, opt.reps, x.gbps());
      }
    }
    // Several short runs rather than one long one: each hey run opens and closes its connections,
    // whose setup and close paths deoptimize and recompile code compiled during steady traffic.
    for (LegData d : active) {
      for (int w = 0; w < HEY_WARMUP_RUNS; w++) {
        hey(d, opt.heyWarmupSeconds);
      }
      System.out.println(d.leg.title() + ": hey warmed up (" + HEY_WARMUP_RUNS + " x " + opt.heyWarmupSeconds + " s)");
    }
    for (int r = 1; r <= opt.reps; r++) {
      for (LegData d : active) {
        double cpuBefore = cpu(d);
        HeyResult h = hey(d, opt.durationSeconds);
        double cpu = cpu(d) - cpuBefore;
        d.latency.add(h);
        double per1000 = d.proxyPids.isEmpty() ? Double.NaN : cpu / ((h.ok() + h.errors()) / 1000.0);
        d.cpuPer1000.add(per1000);
        System.out.printf(Locale.ROOT, "%s: hey run %d/%d %.0f req/s, p50 %.2f p90 %.2f p99 %.2f ms, %d ok, %d errors"
                + "%s%n", d.leg.title(), r, opt.reps, h.requestsPerSecond(), h.millis(50), h.millis(90), h.millis(99),
            h.ok(), h.errors(), Double.isNaN(per1000) ? "" : String.format(Locale.ROOT, ", proxies %.3f CPU s per 1,000 requests", per1000));
      }
    }
    Thread.sleep(2000);
    for (LegData d : active) {
      for (long pid : d.proxyPids) {
        d.rssIdle.put(processName(pid), ProcStats.rssBytes(pid));
      }
    }
    if (opt.idlePauseSeconds > 0) {
      for (LegData d : active) {
        System.out.printf(Locale.ROOT, "%s: idle, proxies %s (pids %s); pausing %d s%n", d.leg.title(), mib(d.rssIdle),
            d.proxyPids, opt.idlePauseSeconds);
      }
      Thread.sleep(TimeUnit.SECONDS.toMillis(opt.idlePauseSeconds));
    }
    if (hold > 0) {
      for (LegData d : active) {
        if (!d.proxyPids.isEmpty() && d.leg != Leg.INPOD) {
          holdConnections(d);
        }
      }
    }
    machine.put("loadavg_at_end", read(Path.of("/proc/loadavg")));

    report(started, stamp, machine);
  }

  // ---- legs ----------------------------------------------------------------------------------

  private String host(Leg leg) {
    if (leg == Leg.INPOD) {
      if (podServerIp == null) {
        throw new IllegalStateException("no server pod");
      }
      return podServerIp;
    }
    return leg == Leg.HAPROXY ? "127.0.0.1" : net().nodeAddress(SERVER);
  }

  /** Runs a client command: in the client node, or for leg d in the client pod ({@code lab exec}). */
  private String clientExec(Leg leg, int seconds, String... cmd) throws IOException, InterruptedException {
    Duration timeout = Duration.ofSeconds(seconds + 40);
    if (leg != Leg.INPOD) {
      return net().tryExec(CLIENT, timeout, cmd).output();
    }
    List<String> args = new ArrayList<>(List.of("exec", InPodLab.CLIENT_POD, "--namespace", InPodLab.NAMESPACE, "--"));
    args.addAll(List.of(cmd));
    return lab(timeout, false, args.toArray(String[]::new));
  }

  private int httpPort(Leg leg) {
    return leg == Leg.HAPROXY ? HAP_CLIENT_HTTP : HTTP_PORT;
  }

  private int iperfPort(Leg leg) {
    return leg == Leg.HAPROXY ? HAP_CLIENT_IPERF : IPERF_PORT;
  }

  private IperfResult iperf(LegData d, int seconds) throws IOException, InterruptedException {
    capture(d.leg == Leg.ZTUNNEL);
    try {
      String out = clientExec(d.leg, seconds, "iperf3", "-c",
          host(d.leg), "-p", Integer.toString(iperfPort(d.leg)), "-t", Integer.toString(seconds), "-O", "1", "-J");
      return IperfResult.parse(out);
    } finally {
      capture(false);
    }
  }

  private HeyResult hey(LegData d, int seconds) throws IOException, InterruptedException {
    capture(d.leg == Leg.ZTUNNEL);
    try {
      String url = "http://" + host(d.leg) + ":" + httpPort(d.leg) + "/";
      String out = clientExec(d.leg, seconds, "hey", "-z", seconds + "s",
          "-c", Integer.toString(opt.connections), "-q", Integer.toString(opt.rate / opt.connections),
          "-disable-compression", url);
      HeyResult h = HeyResult.parse(out);
      if (h.ok() == 0) {
        throw new IllegalStateException(d.leg.title() + ": no 200 responses from " + url + ": "
            + HeyResult.abbreviate(out));
      }
      return h;
    } finally {
      capture(false);
    }
  }

  private double cpu(LegData d) {
    return d.proxyPids.stream().mapToDouble(ProcStats::cpuSeconds).sum();
  }

  private void holdConnections(LegData d) throws Exception {
    capture(d.leg == Leg.ZTUNNEL);
    Process holder = null;
    try {
      holder = spawnJava(CLIENT, "holder-" + d.leg.key, List.of("-Xmx512m", "-XX:+UseSerialGC"), ConnectionHolder.class,
          List.of(host(d.leg), Integer.toString(httpPort(d.leg)), Integer.toString(hold), "64"));
      Path log = work.resolve("holder-" + d.leg.key + ".log");
      String line = awaitLine(holder, log, "HOLDING ", Duration.ofSeconds(120 + hold / 50));
      d.holdResult = line.strip();
      Thread.sleep(1000);
      for (long pid : d.proxyPids) {
        d.rssConns.put(processName(pid), ProcStats.rssBytes(pid));
      }
      System.out.printf(Locale.ROOT, "%s: %s; proxies' RSS %s%n", d.leg.title(), d.holdResult, mib(d.rssConns));
      holder.getOutputStream().close();
      if (!holder.waitFor(60, TimeUnit.SECONDS)) {
        holder.destroyForcibly();
      }
    } finally {
      if (holder != null && holder.isAlive()) {
        holder.destroyForcibly();
      }
      capture(false);
    }
  }

  // ---- in-pod lab (leg d) ----------------------------------------------------------------------

  /**
   * Leg d: {@code lab up --nodes 2}, the server pod on node-1 (iperf3 -s and the fixed-response HTTP
   * server, both in the pod), the client pod on node-0; both captured (the lab's namespaces are
   * ambient). The proxies measured are the two node ztunnels (pids from the lab's processes.txt).
   * A failure here marks the leg failed and the other legs go on.
   */
  private void startInpod(LegData d) throws InterruptedException {
    try {
      System.out.println("bench l4: lab up --nodes 2 --subnet " + opt.labSubnet() + " (state " + opt.labState() + ")");
      labStarted = true;
      lab(Duration.ofSeconds(300), true, "up", "--nodes", "2", "--subnet", Integer.toString(opt.labSubnet()));
      String processes = Files.readString(opt.labState().resolve("processes.txt"));
      for (String node : List.of("node-0", "node-1")) {
        d.proxyPids.add(InPodLab.pid(processes, node, "ztunnel").orElseThrow(() -> new IllegalStateException(
            "no ztunnel of " + node + " in processes.txt:\n" + processes)));
      }
      List<String> server = new ArrayList<>(List.of("pod", "add", InPodLab.SERVER_POD, "--node", "node-1",
          "--namespace", InPodLab.NAMESPACE, "--labels", "app=" + InPodLab.SERVER_POD, "--", "sh", "-c"));
      List<String> http = new ArrayList<>(List.of(javaBin(), "--enable-native-access=ALL-UNNAMED",
          "--sun-misc-unsafe-memory-access=allow", "-Xmx256m", "-XX:+UseSerialGC", "-cp",
          System.getProperty("java.class.path"), FixedResponseServer.class.getName(), "0.0.0.0",
          Integer.toString(HTTP_PORT), "1024"));
      server.add("iperf3 -s -p " + IPERF_PORT + " -D && exec " + String.join(" ", http));
      podServerIp = InPodLab.podIp(lab(Duration.ofSeconds(120), true, server.toArray(String[]::new)))
          .orElseThrow(() -> new IllegalStateException("lab pod add printed no pod IP"));
      String client = InPodLab.podIp(lab(Duration.ofSeconds(120), true, "pod", "add", InPodLab.CLIENT_POD, "--node",
          "node-0", "--namespace", InPodLab.NAMESPACE, "--labels", "app=" + InPodLab.CLIENT_POD)).orElse("?");
      awaitPodListening(HTTP_PORT);
      awaitPodListening(IPERF_PORT);
      System.out.printf("(d): client pod %s on node-0, server pod %s on node-1, node ztunnels pids %s%n", client,
          podServerIp, d.proxyPids);
    } catch (IOException | RuntimeException e) {
      d.status = "failed: " + e.getMessage();
      System.out.println("(d) " + d.status);
    }
  }

  private void awaitPodListening(int port) throws IOException, InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (System.nanoTime() < deadline) {
      String out = lab(Duration.ofSeconds(30), false, "exec", InPodLab.SERVER_POD, "--namespace", InPodLab.NAMESPACE,
          "--", "ss", "-Hltn", "sport = :" + port);
      if (out.contains(":" + port)) {
        return;
      }
      Thread.sleep(250);
    }
    throw new IllegalStateException("server pod: nothing listens on " + port + " in 60 s; see "
        + opt.labState().resolve("pods"));
  }

  /** {@code ./ambient lab ARGS} with leg d's state directory; its output (a failure throws when {@code check}). */
  private String lab(Duration timeout, boolean check, String... args) throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>(List.of(opt.ambient().toString(), "lab"));
    cmd.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
    pb.environment().put("AMBIENT_LAB_DIR", opt.labState().toString());
    Process p = pb.start();
    p.getOutputStream().close();
    // read on another thread so that the timeout holds even when the command hangs with its output open
    var output = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
      try {
        return new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      } catch (IOException e) {
        return "";
      }
    });
    if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
      p.descendants().forEach(ProcessHandle::destroyForcibly);
      p.destroyForcibly();
      throw new IOException("lab " + args[0] + " did not finish in " + timeout.toSeconds() + " s");
    }
    String text;
    try {
      text = output.get(10, TimeUnit.SECONDS);
    } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
      text = "";
    }
    if (check && p.exitValue() != 0) {
      throw new IOException("lab " + String.join(" ", args.length > 6 ? List.of(args).subList(0, 6) : List.of(args))
          + " exited " + p.exitValue() + ": " + text.strip());
    }
    return text;
  }

  private void labDown() {
    if (!labStarted) {
      return;
    }
    labStarted = false;
    try {
      System.out.println("bench l4: lab down");
      lab(Duration.ofSeconds(120), true, "down");
      // the supervisor's log (<state dir>.log) outlives lab down; a clean down removes it
      Files.deleteIfExists(opt.labState().resolveSibling(opt.labState().getFileName() + ".log"));
    } catch (IOException | RuntimeException e) {
      System.err.println("bench l4: lab down failed: " + e.getMessage());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  // ---- HAProxy -------------------------------------------------------------------------------

  private void startHaproxyPair(LegData d) throws Exception {
    BenchCerts.mint(work.resolve("certs"));
    Path certs = work.resolve("certs").resolve("haproxy");
    String serverIp = net().nodeAddress(SERVER);
    String tlsIn = "ssl crt %s ca-file %s verify required".formatted(certs.resolve("server.pem"), certs.resolve("ca.pem"));
    String tlsOut = "ssl verify required ca-file %s crt %s".formatted(certs.resolve("ca.pem"), certs.resolve("client.pem"));
    Process server = haproxy(SERVER, "haproxy-server", """
        frontend http_tls_in
          bind %1$s:%2$d %3$s
          default_backend http_app
        backend http_app
          server app %1$s:%4$d
        frontend iperf_tls_in
          bind %1$s:%5$d %3$s
          default_backend iperf_app
        backend iperf_app
          server app %1$s:%6$d
        """.formatted(serverIp, HAP_SERVER_HTTP, tlsIn, HTTP_PORT, HAP_SERVER_IPERF, IPERF_PORT));
    awaitListening(SERVER, HAP_SERVER_HTTP, "haproxy-server");
    Process client = haproxy(CLIENT, "haproxy-client", """
        frontend http_in
          bind 127.0.0.1:%2$d
          default_backend http_tls_out
        backend http_tls_out
          server tunnel %1$s:%3$d %4$s
        frontend iperf_in
          bind 127.0.0.1:%5$d
          default_backend iperf_tls_out
        backend iperf_tls_out
          server tunnel %1$s:%6$d %4$s
        """.formatted(serverIp, HAP_CLIENT_HTTP, HAP_SERVER_HTTP, tlsOut, HAP_CLIENT_IPERF, HAP_SERVER_IPERF));
    awaitListening(CLIENT, HAP_CLIENT_HTTP, "haproxy-client");
    d.proxyPids.add(client.pid());
    d.proxyPids.add(server.pid());
  }

  private Process haproxy(int node, String name, String proxies) throws IOException {
    String cfg = """
        global
          nbthread %d
          maxconn %d
          ssl-default-bind-options ssl-min-ver TLSv1.3
          ssl-default-server-options ssl-min-ver TLSv1.3
        defaults
          mode tcp
          timeout connect 5s
          timeout client 300s
          timeout server 300s
        """.formatted(opt.haproxyThreads, Math.min(Math.max(hold + 64, 256), (fdLimit - 100) / 2)) + proxies;
    Path file = work.resolve(name + ".cfg");
    Files.writeString(file, cfg);
    return net().spawn(node, Map.of(), work.resolve(name + ".log"), "haproxy", "-db", "-f", file.toString());
  }

  // ---- ztunnel -------------------------------------------------------------------------------

  private void startZtunnelPair(LegData d) throws Exception {
    Path config = Files.createDirectories(work.resolve("cp-config"));
    Path state = Files.createDirectories(work.resolve("cp-state"));
    Files.writeString(config.resolve("l4.yaml"), L4MeshConfig.yaml(net().nodeAddress(CLIENT), net().nodeAddress(SERVER),
        net().netns(CLIENT), net().netns(SERVER), SERVICE_VIP, List.of(HTTP_PORT, IPERF_PORT)));
    String listen = net().bridgeAddress() + ":" + XDS_PORT;
    startControlPlane(config, state, listen);

    Process client = ztunnel(CLIENT, "ztunnel-client", L4MeshConfig.CLIENT, state, listen);
    Process server = ztunnel(SERVER, "ztunnel-server", L4MeshConfig.SERVER, state, listen);
    String c = awaitReady(client, CLIENT, "ztunnel-client");
    String s = awaitReady(server, SERVER, "ztunnel-server");
    d.status = !c.equals("ready") ? c : s;
    if (!d.ready()) {
      System.out.println(Leg.ZTUNNEL.title() + ": " + d.status);
      return;
    }
    installCapture();
    d.proxyPids.add(client.pid());
    d.proxyPids.add(server.pid());
  }

  private void startControlPlane(Path config, Path state, String listen) throws Exception {
    List<String> cmd = new ArrayList<>(List.of(javaBin(), "--enable-native-access=ALL-UNNAMED",
        "--sun-misc-unsafe-memory-access=allow", "-Xmx512m", "-Dlogback.configurationFile=logback-control-plane.xml",
        "-cp", System.getProperty("java.class.path"), "dev.ambient.xds.server.ControlPlaneMain", "--config", config.toString(), "--listen", listen,
        "--state-dir", state.toString()));
    Path log = work.resolve("control-plane.log");
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    rootChildren.add(p);
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (System.nanoTime() < deadline) {
      if (Files.exists(state.resolve("root-cert.pem")) && connects(net().bridgeAddress(), XDS_PORT)) {
        System.out.println("control-plane: listening on " + listen + " (" + log + ")");
        return;
      }
      if (!p.isAlive()) {
        throw new IllegalStateException("control plane exited with " + p.exitValue() + ": " + tail(log));
      }
      Thread.sleep(200);
    }
    throw new IllegalStateException("control plane did not listen on " + listen + " in 60 s: " + tail(log));
  }

  private Process ztunnel(int node, String name, L4MeshConfig.Workload w, Path state, String listen) {
    Map<String, String> env = new LinkedHashMap<>();
    env.put("PROXY_MODE", "dedicated");
    env.put("PROXY_WORKLOAD_INFO", w.namespace() + "/" + w.name() + "/" + w.serviceAccount());
    env.put("XDS_ADDRESS", "https://" + listen);
    env.put("CA_ADDRESS", "https://" + listen);
    env.put("XDS_ROOT_CA", state.resolve("root-cert.pem").toString());
    env.put("CA_ROOT_CA", state.resolve("root-cert.pem").toString());
    env.put("CLUSTER_ID", L4MeshConfig.CLUSTER_ID);
    env.put("NODE_NAME", net().netns(node));
    env.put("POD_NAME", w.name());
    env.put("POD_NAMESPACE", w.namespace());
    env.put("SERVICE_ACCOUNT", w.serviceAccount());
    env.put("INSTANCE_IP", net().nodeAddress(node));
    // Dedicated mode sets no mark by default; the capture rule skips ztunnel's own sockets by it.
    env.put("PACKET_MARK", PACKET_MARK);
    if (!opt.ztunnelJvmOpts.isBlank()) {
      env.put("AMBIENT_JAVA_OPTS", opt.ztunnelJvmOpts);
    }
    StringBuilder envFile = new StringBuilder();
    env.forEach((k, v) -> envFile.append(k).append('=').append(v).append('\n'));
    try {
      Files.writeString(work.resolve(name + ".env"), envFile);
    } catch (IOException e) {
      // only a record for the curious
    }
    return net().spawn(node, env, work.resolve(name + ".log"), opt.ambient.toString(), "ztunnel");
  }

  /** ztunnel's proxy listeners (outbound, inbound plaintext, inbound HBONE) that must be bound once it is ready. */
  static final List<Integer> ZTUNNEL_PROXY_PORTS = List.of(15001, 15006, 15008);

  /**
   * "ready", "skipped: ztunnel not available" or "failed: ..." for one ztunnel. The probe runs inside the
   * node's namespace, so only that namespace's ztunnel can answer it (a probe from the root namespace goes
   * wherever its route to the node address points); once it answers 200, the proxy listeners must be bound
   * there too.
   */
  private String awaitReady(Process p, int node, String name) throws InterruptedException {
    Path log = work.resolve(name + ".log");
    String ready = "http://" + net().nodeAddress(node) + ":15021/healthz/ready";
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(opt.readyTimeoutSeconds);
    while (System.nanoTime() < deadline) {
      if (!p.isAlive()) {
        String t = tail(log);
        if (p.exitValue() == 2 || t.contains("not yet available")) {
          return "skipped: ztunnel not available (" + t.lines().reduce((a, b) -> b).orElse("").strip() + ")";
        }
        return "failed: " + name + " exited with " + p.exitValue() + ": " + t;
      }
      String status = net().tryExec(node, Duration.ofSeconds(5), "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
          "--max-time", "2", ready).output().strip();
      if (status.equals("200")) {
        List<Integer> missing = missingListeners(net().tryExec(node, "ss", "-Hltn").output(), ZTUNNEL_PROXY_PORTS);
        if (!missing.isEmpty()) {
          return "failed: " + name + " answered ready but nothing listens on " + missing + " in " + net().netns(node)
              + ": " + tail(log);
        }
        System.out.println(name + ": ready (" + ready + " in " + net().netns(node) + ", listening on "
            + ZTUNNEL_PROXY_PORTS + ")");
        return "ready";
      }
      Thread.sleep(250);
    }
    return "failed: " + name + " not ready at " + ready + " in " + opt.readyTimeoutSeconds + " s: " + tail(log);
  }

  /** The {@code ports} no listening socket in {@code ss -Hltn} output is bound to (any local address). */
  static List<Integer> missingListeners(String ssListening, List<Integer> ports) {
    List<Integer> bound = new ArrayList<>();
    for (String line : ssListening.lines().toList()) {
      String[] f = line.strip().split("\\s+");
      if (f.length < 4) {
        continue;
      }
      String local = f[3];
      try {
        bound.add(Integer.parseInt(local.substring(local.lastIndexOf(':') + 1)));
      } catch (NumberFormatException e) {
        // "*" or a service name: not a port we look for
      }
    }
    return ports.stream().filter(port -> !bound.contains(port)).toList();
  }

  /**
   * The client node's capture chain: TCP to the server node or the service VIPs goes to ztunnel's
   * outbound port 15001, except ztunnel's own (marked) traffic and ztunnel's ports. The chain is
   * hooked into OUTPUT only while a ztunnel-leg run is on ({@link #capture}), so the direct leg
   * reaches the same address uncaptured. The control plane (on the bridge address) is never captured.
   */
  private void installCapture() {
    String server = net().nodeAddress(SERVER) + "/32";
    NetnsTopology n = net();
    n.exec(CLIENT, "iptables", "-t", "nat", "-N", CAPTURE_CHAIN);
    n.exec(CLIENT, "iptables", "-t", "nat", "-A", CAPTURE_CHAIN, "-m", "mark", "--mark", PACKET_MARK + "/0xfff",
        "-j", "RETURN");
    n.exec(CLIENT, "iptables", "-t", "nat", "-A", CAPTURE_CHAIN, "-p", "tcp", "-m", "multiport", "--dports",
        ZTUNNEL_PORTS, "-j", "RETURN");
    for (String dst : List.of(server, SERVICE_VIP + "/24")) {
      n.exec(CLIENT, "iptables", "-t", "nat", "-A", CAPTURE_CHAIN, "-p", "tcp", "-d", dst, "-j", "REDIRECT",
          "--to-ports", "15001");
    }
    captureInstalled = true;
  }

  private boolean captureOn;

  private void capture(boolean on) {
    if (!captureInstalled || on == captureOn) {
      return;
    }
    net().exec(CLIENT, "iptables", "-t", "nat", on ? "-A" : "-D", "OUTPUT", "-p", "tcp", "-j", CAPTURE_CHAIN);
    captureOn = on;
  }

  // ---- processes -----------------------------------------------------------------------------

  private Process spawnJava(int node, String name, List<String> jvm, Class<?> main, List<String> args)
      throws IOException {
    // The JVM raises its soft open-files limit to the hard one itself (-XX:+MaxFDLimit).
    List<String> cmd = new ArrayList<>(List.of(javaBin(), "--enable-native-access=ALL-UNNAMED",
        "--sun-misc-unsafe-memory-access=allow"));
    cmd.addAll(jvm);
    cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), main.getName()));
    cmd.addAll(args);
    Files.writeString(work.resolve(name + ".cmd"), String.join(" ", cmd));
    return net().spawn(node, Map.of(), work.resolve(name + ".log"), cmd.toArray(String[]::new));
  }

  private void awaitListening(int node, int port, String name) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (System.nanoTime() < deadline) {
      String out = net().tryExec(node, "ss", "-Hltn", "sport = :" + port).output();
      if (!out.isBlank()) {
        System.out.println(name + ": listening on port " + port + " in " + net().netns(node));
        return;
      }
      Thread.sleep(100);
    }
    throw new IllegalStateException(name + " did not listen on " + port + " in 30 s: " + tail(work.resolve(name + ".log")));
  }

  private static String awaitLine(Process p, Path log, String prefix, Duration timeout) throws Exception {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < deadline) {
      for (String line : Files.readAllLines(log)) {
        if (line.startsWith(prefix)) {
          return line;
        }
      }
      if (!p.isAlive()) {
        throw new IllegalStateException(log.getFileName() + ": exited with " + p.exitValue() + ": " + tail(log));
      }
      Thread.sleep(200);
    }
    throw new IllegalStateException(log.getFileName() + ": no '" + prefix + "' in " + timeout.toSeconds() + " s: " + tail(log));
  }

  private static boolean connects(String host, int port) {
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress(host, port), 500);
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  private static String processName(long pid) {
    String cmd = ProcessHandle.of(pid).flatMap(h -> h.info().command()).orElse("?");
    return Path.of(cmd).getFileName() + "[" + pid + "]";
  }

  synchronized void tearDown() {
    if (shuttingDown) {
      keepWork = opt.keep;
    }
    for (Process p : rootChildren) {
      p.destroy();
      try {
        if (!p.waitFor(10, TimeUnit.SECONDS)) {
          p.destroyForcibly();
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        p.destroyForcibly();
      }
    }
    rootChildren.clear();
    labDown();
    if (net != null) {
      net.close();
    }
    if (!keepWork) {
      try (var s = Files.walk(work)) {
        s.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
      } catch (IOException | RuntimeException e) {
        // best effort
      }
    }
  }

  // ---- report --------------------------------------------------------------------------------

  private void report(Instant started, String stamp, Map<String, String> machine) throws IOException {
    Map<Leg, LegSummary> summaries = new EnumMap<>(Leg.class);
    LegData direct = legs.get(Leg.DIRECT);
    for (LegData d : legs.values()) {
      if (d.ready() && !d.gbps.isEmpty()) {
        summaries.put(d.leg, summarize(d, direct));
      }
    }
    System.out.println();
    System.out.printf("%-24s %10s %10s %10s %10s %12s %12s %12s%n", "leg", "Gbit/s", "+p50 ms", "+p90 ms", "+p99 ms",
        "CPU s/1k req", "RSS idle", "RSS w/ conns");
    for (LegData d : legs.values()) {
      LegSummary s = summaries.get(d.leg);
      if (s == null) {
        System.out.printf("%-24s %s%n", d.leg.title(), d.status);
        continue;
      }
      System.out.printf(Locale.ROOT, "%-24s %10.3f %10s %10s %10s %12s %12s %12s%n", d.leg.title(), s.gbps(),
          num(s.addedP50(), 3), num(s.addedP90(), 3), num(s.addedP99(), 3), num(s.cpuPer1000(), 3),
          Double.isNaN(s.rssIdleMib()) ? "-" : num(s.rssIdleMib(), 1) + " MiB",
          Double.isNaN(s.rssConnsMib()) ? "-" : num(s.rssConnsMib(), 1) + " MiB");
    }
    if (direct != null && !direct.latency.isEmpty()) {
      System.out.printf(Locale.ROOT, "direct latency (median of runs): p50 %.3f p90 %.3f p99 %.3f ms"
              + " (hey prints 0.1 ms resolution)%n", medianMillis(direct, 50), medianMillis(direct, 90),
          medianMillis(direct, 99));
    }
    Map<String, Object> ratios = new LinkedHashMap<>();
    ratio(ratios, "b_over_a", summaries.get(Leg.HAPROXY), summaries.get(Leg.DIRECT));
    ratio(ratios, "c_over_a", summaries.get(Leg.ZTUNNEL), summaries.get(Leg.DIRECT));
    ratio(ratios, "c_over_b", summaries.get(Leg.ZTUNNEL), summaries.get(Leg.HAPROXY));
    ratio(ratios, "d_over_a", summaries.get(Leg.INPOD), summaries.get(Leg.DIRECT));
    ratio(ratios, "d_over_b", summaries.get(Leg.INPOD), summaries.get(Leg.HAPROXY));
    StringBuilder rs = new StringBuilder();
    ratios.forEach((k, v) -> rs.append(String.format(Locale.ROOT, "  %s = %.3f", k.replace("_over_", ")/("), v)));
    System.out.println("throughput ratios:" + (rs.isEmpty() ? " n/a" : rs.toString().replace("  ", "  (").replace(" =", ") =")));
    List<Goals.Goal> goals = summaries.containsKey(Leg.HAPROXY)
        ? Goals.evaluate(summaries.get(Leg.HAPROXY), summaries.get(Leg.ZTUNNEL))
        : List.of();
    System.out.println("\ngoals (leg c):");
    for (Goals.Goal g : goals) {
      System.out.printf("  %-4s %-34s %s%n", g.verdict(), g.name(), g.value());
    }
    if (goals.isEmpty()) {
      System.out.println("  n/a (needs legs b and c)");
    }

    Map<String, Object> j = new LinkedHashMap<>();
    j.put("suite", "l4");
    j.put("date", started.toString());
    j.put("command", opt.command);
    j.put("machine", machine);
    Map<String, Object> config = new LinkedHashMap<>();
    config.put("reps", opt.reps);
    config.put("duration_seconds", opt.durationSeconds);
    config.put("hey_warmup_seconds", opt.heyWarmupSeconds);
    config.put("hey_warmup_runs", HEY_WARMUP_RUNS);
    config.put("rate_rps", opt.rate);
    config.put("connections", opt.connections);
    config.put("hold_connections_requested", opt.holdConnections);
    config.put("hold_connections", hold);
    config.put("open_files_hard_limit", fdLimit);
    config.put("haproxy_threads", opt.haproxyThreads);
    config.put("ztunnel_jvm_opts", opt.ztunnelJvmOpts.isBlank() ? "launcher default" : opt.ztunnelJvmOpts);
    NetnsTopology n = net();
    config.put("topology", "bridge " + n.bridgeAddress() + "/24 in the root netns; client node " + n.nodeAddress(CLIENT)
        + ", server node " + n.nodeAddress(SERVER) + "; control plane on " + n.bridgeAddress() + ":" + XDS_PORT
        + "; service VIP " + SERVICE_VIP);
    config.put("response_bytes", 1024);
    config.put("latency_resolution_ms", 0.1);
    config.put("order", "iperf3 warm-up per leg, iperf3 rounds a,b,c,d, then hey warm-up per leg, hey rounds a,b,c,d");
    if (legs.containsKey(Leg.INPOD)) {
      config.put("inpod", "leg d: ./ambient lab up --nodes 2 --subnet " + opt.labSubnet() + " (state " + opt.labState()
          + "); client pod " + InPodLab.CLIENT_POD + " on node-0, server pod " + InPodLab.SERVER_POD + " on node-1 ("
          + podServerIp + "; iperf3 -s and FixedResponseServer in the pod), namespace " + InPodLab.NAMESPACE
          + " (ambient); proxies = the two node ztunnels (shared mode); no connection hold");
    }
    j.put("config", config);
    Map<String, Object> legJson = new LinkedHashMap<>();
    for (LegData d : legs.values()) {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("label", d.leg.label);
      m.put("status", d.status);
      m.put("iperf3_gbps", d.gbps);
      List<Object> lat = new ArrayList<>();
      for (HeyResult h : d.latency) {
        Map<String, Object> x = new LinkedHashMap<>();
        x.put("rps", h.requestsPerSecond());
        x.put("p50_ms", h.millis(50));
        x.put("p90_ms", h.millis(90));
        x.put("p99_ms", h.millis(99));
        x.put("ok", h.ok());
        x.put("errors", h.errors());
        lat.add(x);
      }
      m.put("latency_runs", lat);
      m.put("cpu_seconds_per_1000_requests", d.cpuPer1000);
      m.put("rss_bytes_start", d.rssStart);
      m.put("rss_bytes_idle", d.rssIdle);
      m.put("rss_bytes_with_connections", d.rssConns);
      m.put("hold", d.holdResult);
      LegSummary s = summaries.get(d.leg);
      if (s != null) {
        Map<String, Object> sm = new LinkedHashMap<>();
        sm.put("median_gbps", s.gbps());
        sm.put("added_p50_ms", s.addedP50());
        sm.put("added_p90_ms", s.addedP90());
        sm.put("added_p99_ms", s.addedP99());
        sm.put("cpu_seconds_per_1000_requests", s.cpuPer1000());
        sm.put("rss_idle_mib_max_process", s.rssIdleMib());
        sm.put("rss_with_connections_mib_max_process", s.rssConnsMib());
        m.put("summary", sm);
      }
      legJson.put(d.leg.key, m);
    }
    j.put("legs", legJson);
    j.put("ratios", ratios);
    List<Object> gj = new ArrayList<>();
    for (Goals.Goal g : goals) {
      gj.add(Map.of("goal", g.name(), "value", g.value(), "verdict", g.verdict()));
    }
    j.put("goals", gj);
    Path json = opt.out.resolve("l4-" + stamp + ".json");
    Files.writeString(json, Json.write(j));
    System.out.println("\nresults: " + json);
  }

  private static void ratio(Map<String, Object> out, String key, @Nullable LegSummary x, @Nullable LegSummary y) {
    if (x != null && y != null) {
      out.put(key, x.gbps() / y.gbps());
    }
  }

  static LegSummary summarize(LegData d, @Nullable LegData direct) {
    double p50 = medianMillis(d, 50);
    double p90 = medianMillis(d, 90);
    double p99 = medianMillis(d, 99);
    double b50 = direct == null ? Double.NaN : medianMillis(direct, 50);
    double b90 = direct == null ? Double.NaN : medianMillis(direct, 90);
    double b99 = direct == null ? Double.NaN : medianMillis(direct, 99);
    return new LegSummary(median(d.gbps), p50 - b50, p90 - b90, p99 - b99, median(d.cpuPer1000),
        maxMib(d.rssIdle), maxMib(d.rssConns));
  }

  static double medianMillis(LegData d, int percentile) {
    return median(d.latency.stream().map(h -> h.millis(percentile)).toList());
  }

  static double median(List<Double> values) {
    double[] v = values.stream().mapToDouble(Double::doubleValue).filter(x -> !Double.isNaN(x)).sorted().toArray();
    if (v.length == 0) {
      return Double.NaN;
    }
    return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
  }

  private static double maxMib(Map<String, Long> rss) {
    return rss.values().stream().mapToLong(Long::longValue).max().stream().mapToDouble(b -> b / 1048576.0)
        .findFirst().orElse(Double.NaN);
  }

  private static String mib(Map<String, Long> rss) {
    StringBuilder b = new StringBuilder();
    rss.forEach((k, v) -> b.append(b.isEmpty() ? "" : ", ").append(k).append(' ')
        .append(String.format(Locale.ROOT, "%.1f MiB", v / 1048576.0)));
    return b.toString();
  }

  private static String num(double d, int decimals) {
    return Double.isNaN(d) ? "-" : String.format(Locale.ROOT, "%." + decimals + "f", d);
  }

  private Map<String, String> machine() {
    Map<String, String> m = dev.ambient.bench.MachineFacts.common();
    m.put("haproxy", firstLine("haproxy", "-v"));
    m.put("iperf3", firstLine("iperf3", "--version"));
    m.put("hey", Files.isExecutable(Path.of("/usr/bin/hey")) ? "/usr/bin/hey (Debian)" : "?");
    return m;
  }

  private static String firstLine(String... cmd) {
    try {
      Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      p.waitFor(10, TimeUnit.SECONDS);
      return out.lines().findFirst().orElse("?").strip();
    } catch (IOException e) {
      return "?";
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return "?";
    }
  }

  private static String read(Path p) {
    try {
      return Files.readString(p).strip();
    } catch (IOException e) {
      return "?";
    }
  }

  private static String tail(Path log) {
    try {
      List<String> lines = Files.readAllLines(log);
      return String.join("\n", lines.subList(Math.max(0, lines.size() - 15), lines.size()));
    } catch (IOException e) {
      return "(no log: " + e.getMessage() + ")";
    }
  }

  private static String javaBin() {
    return Path.of(System.getProperty("java.home"), "bin", "java").toString();
  }
}
