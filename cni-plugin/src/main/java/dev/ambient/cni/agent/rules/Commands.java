package dev.ambient.cni.agent.rules;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;

/**
 * Runs the rule tools ({@code iptables-restore}, {@code nft}, {@code ip}) as child processes,
 * optionally inside a network namespace.
 *
 * <p>Entering the namespace is done by {@code nsenter --net=PATH}, not by {@code setns} in the JVM:
 * the child process is the only thing that needs the namespace, and this way no JVM thread ever
 * changes namespace (spec §2.5 allows either). Each run is bounded by a timeout and its output is
 * captured; a non-zero exit is an {@link IOException} carrying the command and its stderr.
 */
final class Commands {
  private static final java.util.concurrent.Executor OUTPUT_DRAINERS =
      java.util.concurrent.Executors.newThreadPerTaskExecutor(Thread.ofVirtual().name("command-output-", 0).factory());

  static final long TIMEOUT_SECONDS = 30;

  private final @Nullable Path netns;
  private final Map<String, String> environment;

  private Commands(@Nullable Path netns, Map<String, String> environment) {
    this.netns = netns;
    this.environment = environment;
  }

  /** Commands in this process's own network namespace. */
  static Commands here() {
    return new Commands(null, Map.of());
  }

  /**
   * Commands inside {@code netns}. Legacy iptables takes a lock file; each pod gets its own
   * ({@code XTABLES_LOCKFILE}) so pods do not wait on the node's {@code /run/xtables.lock}
   * (upstream's scoped xtables locking).
   */
  static Commands in(Path netns) {
    String lock = Path.of(System.getProperty("java.io.tmpdir"),
        "ambient-xtables-" + Integer.toHexString(netns.toString().hashCode()) + ".lock").toString();
    return new Commands(netns, Map.of("XTABLES_LOCKFILE", lock));
  }

  record Result(int exitCode, String stdout, String stderr) {
    boolean ok() {
      return exitCode == 0;
    }
  }

  /** Runs {@code argv} with {@code stdin} (may be empty) and returns its exit code and output. */
  Result run(List<String> argv, String stdin) throws IOException {
    List<String> command = new ArrayList<>();
    if (netns != null) {
      command.add("nsenter");
      command.add("--net=" + netns);
    }
    command.addAll(argv);
    ProcessBuilder pb = new ProcessBuilder(command);
    pb.environment().putAll(environment);
    Process p = pb.start();
    // Own (virtual) threads: on 2 cores the common pool has one thread, and a caller blocking it
    // would stall every command until its timeout.
    CompletableFuture<String> err = CompletableFuture.supplyAsync(() -> drain(p.getErrorStream()), OUTPUT_DRAINERS);
    CompletableFuture<String> out = CompletableFuture.supplyAsync(() -> drain(p.getInputStream()), OUTPUT_DRAINERS);
    try (OutputStream in = p.getOutputStream()) {
      in.write(stdin.getBytes(StandardCharsets.UTF_8));
    } catch (IOException e) {
      // The tool may exit before reading its input; its exit code says what happened.
    }
    try {
      if (!p.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        throw new IOException(String.join(" ", command) + ": timed out after " + TIMEOUT_SECONDS + " s");
      }
      return new Result(p.exitValue(), out.get(), err.get());
    } catch (InterruptedException e) {
      p.destroyForcibly();
      Thread.currentThread().interrupt();
      throw new IOException(String.join(" ", command) + ": interrupted", e);
    } catch (ExecutionException e) {
      throw new IOException(String.join(" ", command) + ": reading output failed", e.getCause());
    }
  }

  /** Runs and requires exit code 0; returns stdout. */
  String checked(List<String> argv, String stdin) throws IOException {
    Result r = run(argv, stdin);
    if (!r.ok()) {
      throw new IOException(where() + String.join(" ", argv) + " failed (exit " + r.exitCode() + "): "
          + r.stderr().strip());
    }
    return r.stdout();
  }

  String where() {
    return netns == null ? "" : "[netns " + netns + "] ";
  }

  private static String drain(InputStream s) {
    try {
      return new String(s.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
