package dev.ambient.testing.netns;

import static java.util.Objects.requireNonNull;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * A small lab network on one machine (needs root): a Linux bridge in the root network namespace with
 * the address {@code 198.18.S.1/24}, and N "node" network namespaces, each joined to the bridge by a
 * veth pair, with {@code eth0} = {@code 198.18.S.(10+i)/24}, loopback up and a default route via
 * {@code 198.18.S.1}. {@code S} is the subnet octet (default 0).
 *
 * <p>Every name starts with the prefix: bridge {@code <prefix>-br}, namespaces {@code <prefix>-n<i>},
 * host-side veth ends {@code <prefix>-v<i>} (Linux interface names have at most 15 characters, so
 * the prefix has at most 9). {@link #close()} kills every process still running in the namespaces
 * (spawned here or not), then deletes the namespaces and links; it is idempotent and also runs
 * when creation fails half-way. {@link #cleanupLeftovers(String)} removes what a crashed run left.
 *
 * <pre>{@code
 * try (NetnsTopology net = NetnsTopology.create(NetnsTopology.uniquePrefix("zt"), 2)) {
 *   Process server = net.spawn(1, Map.of(), "python3", "-m", "http.server", "8080");
 *   net.exec(0, "curl", "-s", "http://" + net.nodeAddress(1) + ":8080/");
 * }
 * }</pre>
 */
public final class NetnsTopology implements AutoCloseable {
  /** The longest prefix that keeps {@code <prefix>-v<i>} within 15 characters for up to 1,000 nodes. */
  public static final int MAX_PREFIX_LENGTH = 9;
  private static final Pattern PREFIX = Pattern.compile("[a-z][a-z0-9]*");
  private static final Duration EXEC_TIMEOUT = Duration.ofSeconds(60);

  private final String prefix;
  private final int subnet;
  private final int nodes;
  private final List<Process> spawned = new CopyOnWriteArrayList<>();
  private boolean closed;

  /** The output and exit code of a command that ran to its end. */
  public record ExecResult(List<String> command, int exitCode, String output) {
    /** The output, or an {@link IllegalStateException} with the command and output when the exit code is not 0. */
    public String check() {
      if (exitCode != 0) {
        throw new IllegalStateException(
            String.join(" ", command) + " exited with " + exitCode + ": " + output.strip());
      }
      return output;
    }
  }

  private NetnsTopology(String prefix, int subnet, int nodes) {
    this.prefix = prefix;
    this.subnet = subnet;
    this.nodes = nodes;
  }

  /** {@code base} followed by four random hex digits, e.g. {@code zt3fa1}: unique per run. */
  public static String uniquePrefix(String base) {
    return base + HexFormat.of().toHexDigits((short) ThreadLocalRandom.current().nextInt());
  }

  /** {@link #create(String, int, int)} on subnet 198.18.0.0/24. */
  public static NetnsTopology create(String prefix, int nodes) {
    return create(prefix, nodes, 0);
  }

  /**
   * Creates the bridge and {@code nodes} namespaces on 198.18.{@code subnet}.0/24. Two topologies
   * that exist at the same time must use different subnets (the bridge routes compete otherwise).
   *
   * @throws IllegalArgumentException for a bad prefix, node count or subnet
   * @throws IllegalStateException when a command fails (everything created so far is removed)
   */
  public static NetnsTopology create(String prefix, int nodes, int subnet) {
    checkPrefix(prefix);
    if (nodes < 1 || nodes > 200) {
      throw new IllegalArgumentException("nodes must be 1..200, got " + nodes);
    }
    if (subnet < 0 || subnet > 255) {
      throw new IllegalArgumentException("subnet octet must be 0..255, got " + subnet);
    }
    NetnsTopology t = new NetnsTopology(prefix, subnet, nodes);
    try {
      t.build();
    } catch (RuntimeException e) {
      t.close();
      throw e;
    }
    return t;
  }

  private void build() {
    String br = bridge();
    check("ip", "link", "add", br, "type", "bridge");
    check("ip", "addr", "add", bridgeAddress() + "/24", "dev", br);
    check("ip", "link", "set", br, "up");
    for (int i = 0; i < nodes; i++) {
      String ns = netns(i);
      String host = hostVeth(i);
      String peer = prefix + "-p" + i;
      check("ip", "netns", "add", ns);
      check("ip", "-n", ns, "link", "set", "lo", "up");
      check("ip", "link", "add", host, "type", "veth", "peer", "name", peer);
      check("ip", "link", "set", peer, "netns", ns);
      check("ip", "-n", ns, "link", "set", peer, "name", "eth0");
      check("ip", "-n", ns, "addr", "add", nodeAddress(i) + "/24", "dev", "eth0");
      check("ip", "-n", ns, "link", "set", "eth0", "up");
      check("ip", "-n", ns, "route", "add", "default", "via", bridgeAddress());
      check("ip", "link", "set", host, "master", br);
      check("ip", "link", "set", host, "up");
    }
  }

  public String prefix() {
    return prefix;
  }

  public int nodeCount() {
    return nodes;
  }

  /** The bridge's name in the root namespace. */
  public String bridge() {
    return prefix + "-br";
  }

  /** The bridge's address, the nodes' default gateway: {@code 198.18.S.1}. */
  public String bridgeAddress() {
    return "198.18." + subnet + ".1";
  }

  /** The name of node {@code i}'s network namespace (as in {@code ip netns list}). */
  public String netns(int node) {
    return prefix + "-n" + checkNode(node);
  }

  /** {@code /var/run/netns/<name>}, e.g. for {@code setns} or a CNI_NETNS. */
  public Path netnsPath(int node) {
    return Path.of("/var/run/netns", netns(node));
  }

  /** Node {@code i}'s address on {@code eth0}: {@code 198.18.S.(10+i)}. */
  public String nodeAddress(int node) {
    return "198.18." + subnet + "." + (10 + checkNode(node));
  }

  /** The root-namespace end of node {@code i}'s veth pair. */
  public String hostVeth(int node) {
    return prefix + "-v" + checkNode(node);
  }

  /**
   * Runs {@code command} in node {@code i}'s namespace to its end (at most 60 s) and returns its
   * output (stdout and stderr).
   *
   * @throws IllegalStateException when it exits with a non-zero code or times out
   */
  public String exec(int node, String... command) {
    return tryExec(node, command).check();
  }

  /** Like {@link #exec} but returns the exit code instead of throwing on a non-zero one. */
  public ExecResult tryExec(int node, String... command) {
    return run(inNetns(node, command), EXEC_TIMEOUT);
  }

  /** Like {@link #tryExec(int, String...)} with a different time limit (the command is killed after it). */
  public ExecResult tryExec(int node, Duration timeout, String... command) {
    return run(inNetns(node, command), timeout);
  }

  /**
   * Starts a long-running {@code command} in node {@code i}'s namespace with {@code env} added to
   * this process's environment; its stdout and stderr are inherited. {@link #close()} kills it.
   */
  public Process spawn(int node, Map<String, String> env, String... command) {
    return start(node, env, null, command);
  }

  /** Like {@link #spawn(int, Map, String...)} but stdout and stderr go to {@code log} (truncated). */
  public Process spawn(int node, Map<String, String> env, Path log, String... command) {
    return start(node, env, requireNonNull(log, "log"), command);
  }

  private Process start(int node, Map<String, String> env, @Nullable Path log, String... command) {
    List<String> cmd = inNetns(node, command);
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
    pb.environment().putAll(env);
    pb.redirectOutput(log == null ? ProcessBuilder.Redirect.INHERIT : ProcessBuilder.Redirect.to(log.toFile()));
    pb.redirectInput(ProcessBuilder.Redirect.PIPE);
    synchronized (this) {
      if (closed) {
        throw new IllegalStateException("topology " + prefix + " is closed");
      }
      try {
        Process p = pb.start();
        spawned.add(p);
        return p;
      } catch (IOException e) {
        throw new UncheckedIOException("cannot start " + String.join(" ", cmd), e);
      }
    }
  }

  private List<String> inNetns(int node, String... command) {
    if (command.length == 0) {
      throw new IllegalArgumentException("empty command");
    }
    List<String> cmd = new ArrayList<>(List.of("ip", "netns", "exec", netns(node)));
    cmd.addAll(List.of(command));
    return cmd;
  }

  /**
   * Kills the spawned processes and every other process in the namespaces, deletes the namespaces,
   * veth pairs and the bridge. Idempotent; failures to delete something already gone are ignored.
   */
  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    for (Process p : spawned) {
      kill(p.toHandle());
    }
    spawned.clear();
    removeAll(prefix + "-n", prefix + "-");
  }

  /**
   * Removes everything a topology with a prefix starting with {@code prefix} left behind: processes
   * in its namespaces, the namespaces, and links whose names start with {@code prefix}. For example
   * {@code cleanupLeftovers("zt")} removes the leftovers of every {@code uniquePrefix("zt")} run, so
   * pass a prefix no one else uses.
   */
  public static void cleanupLeftovers(String prefix) {
    checkPrefix(prefix);
    removeAll(prefix, prefix);
  }

  private static void removeAll(String netnsPrefix, String linkPrefix) {
    List<String> namespaces = namespaces().stream().filter(n -> n.startsWith(netnsPrefix)).toList();
    for (String ns : namespaces) {
      for (String pid : run("ip", "netns", "pids", ns).output().strip().split("\\s+")) {
        if (!pid.isEmpty()) {
          ProcessHandle.of(Long.parseLong(pid)).ifPresent(NetnsTopology::kill);
        }
      }
    }
    for (String ns : namespaces) {
      run("ip", "netns", "del", ns);
    }
    // Deleting a namespace deletes the veth end in it and with it the host end; the bridge remains.
    for (String link : links()) {
      if (link.startsWith(linkPrefix)) {
        run("ip", "link", "del", link);
      }
    }
  }

  /** The names in {@code ip netns list} (which prints "name (id: N)" for namespaces with an id). */
  static List<String> namespaces() {
    return run("ip", "netns", "list").output().lines()
        .map(l -> l.strip().split("\\s+")[0]).filter(s -> !s.isEmpty()).toList();
  }

  /** Link names in the root namespace (without the {@code @peer} suffix). */
  static List<String> links() {
    return run("ip", "-o", "link", "show").output().lines()
        .map(l -> l.split(":\\s+", 3))
        .filter(f -> f.length >= 2)
        .map(f -> f[1].split("@")[0].strip())
        .toList();
  }

  private static void kill(ProcessHandle h) {
    List<ProcessHandle> all = new ArrayList<>(h.descendants().toList());
    all.add(h);
    all.forEach(ProcessHandle::destroy);
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
    for (ProcessHandle p : all) {
      try {
        p.onExit().get(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
      } catch (Exception e) {
        p.destroyForcibly();
      }
    }
  }

  private static String check(String... command) {
    return run(command).check();
  }

  private static ExecResult run(String... command) {
    return run(List.of(command), EXEC_TIMEOUT);
  }

  private static ExecResult run(List<String> command, Duration timeout) {
    Process p;
    try {
      p = new ProcessBuilder(command).redirectErrorStream(true).start();
      p.getOutputStream().close();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot run " + String.join(" ", command), e);
    }
    // Read on another thread so that a command that hangs is killed after the timeout.
    CompletableFuture<byte[]> output = CompletableFuture.supplyAsync(() -> {
      try (var in = p.getInputStream()) {
        return in.readAllBytes();
      } catch (IOException e) {
        return new byte[0];
      }
    }, Thread::startVirtualThread);
    try {
      if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        kill(p.toHandle());
        throw new IllegalStateException(
            String.join(" ", command) + " did not finish in " + timeout.toMillis() + " ms");
      }
      byte[] out = output.get(10, TimeUnit.SECONDS);
      return new ExecResult(List.copyOf(command), p.exitValue(), new String(out, StandardCharsets.UTF_8));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      kill(p.toHandle());
      throw new IllegalStateException("interrupted: " + String.join(" ", command), e);
    } catch (ExecutionException | TimeoutException e) {
      throw new IllegalStateException(
          String.join(" ", command) + ": its output stayed open (a background child still holds it)", e);
    }
  }

  private int checkNode(int node) {
    if (node < 0 || node >= nodes) {
      throw new IndexOutOfBoundsException("node " + node + " of " + nodes);
    }
    return node;
  }

  private static void checkPrefix(String prefix) {
    requireNonNull(prefix, "prefix");
    if (prefix.length() > MAX_PREFIX_LENGTH || !PREFIX.matcher(prefix).matches()) {
      throw new IllegalArgumentException(
          "prefix must be [a-z][a-z0-9]* and at most " + MAX_PREFIX_LENGTH + " characters, got '" + prefix + "'");
    }
  }
}
