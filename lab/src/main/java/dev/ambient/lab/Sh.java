package dev.ambient.lab;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.jspecify.annotations.Nullable;

/** Runs commands to their end with a time limit (the approach of the testing module's NetnsTopology). */
final class Sh {
  static final Duration TIMEOUT = Duration.ofSeconds(60);

  private Sh() {}

  /** The output (stdout and stderr) and exit code of a command that ran to its end. */
  record Result(List<String> command, int exitCode, String output) {
    String check() {
      if (exitCode != 0) {
        throw new IllegalStateException(String.join(" ", command) + " exited with " + exitCode + ": " + output.strip());
      }
      return output;
    }

    boolean ok() {
      return exitCode == 0;
    }
  }

  static String check(String... command) {
    return run(List.of(command), Map.of(), null, TIMEOUT).check();
  }

  static Result run(String... command) {
    return run(List.of(command), Map.of(), null, TIMEOUT);
  }

  /** {@code command} inside network namespace {@code netns}. */
  static List<String> inNetns(String netns, List<String> command) {
    List<String> cmd = new ArrayList<>(List.of("ip", "netns", "exec", netns));
    cmd.addAll(command);
    return cmd;
  }

  /**
   * Runs {@code command} with {@code env} added, {@code stdin} (or nothing) as input; stdout and stderr
   * are merged unless {@code stdin} is given, in which case only stdout is returned (stderr is inherited,
   * as a CNI runtime keeps the plugin's stdout for the result).
   */
  static Result run(List<String> command, Map<String, String> env, @Nullable String stdin, Duration timeout) {
    Process p;
    try {
      ProcessBuilder pb = new ProcessBuilder(command);
      if (stdin == null) {
        pb.redirectErrorStream(true);
      } else {
        pb.redirectError(ProcessBuilder.Redirect.DISCARD);
      }
      pb.environment().putAll(env);
      p = pb.start();
      try (var out = p.getOutputStream()) {
        if (stdin != null) {
          out.write(stdin.getBytes(StandardCharsets.UTF_8));
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot run " + String.join(" ", command) + ": " + e.getMessage(), e);
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
        throw new IllegalStateException(String.join(" ", command) + " did not finish in " + timeout.toSeconds() + " s");
      }
      byte[] out = output.get(10, TimeUnit.SECONDS);
      return new Result(List.copyOf(command), p.exitValue(), new String(out, StandardCharsets.UTF_8));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      kill(p.toHandle());
      throw new IllegalStateException("interrupted: " + String.join(" ", command), e);
    } catch (ExecutionException | TimeoutException e) {
      throw new IllegalStateException(String.join(" ", command) + ": its output stayed open", e);
    }
  }

  /** SIGTERM to a process and its descendants, SIGKILL to whatever is still alive after 5 s. */
  static void kill(ProcessHandle h) {
    List<ProcessHandle> all = new ArrayList<>(h.descendants().toList());
    all.add(h);
    all.forEach(ProcessHandle::destroy);
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
    for (ProcessHandle p : all) {
      try {
        p.onExit().get(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        p.destroyForcibly();
      } catch (ExecutionException | TimeoutException e) {
        p.destroyForcibly();
      }
    }
  }
}
