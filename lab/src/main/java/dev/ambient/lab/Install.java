package dev.ambient.lab;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * Where the project's executables are: the checkout the {@code ambient} launcher runs from
 * ({@code AMBIENT_HOME}, else the working directory).
 *
 * @param pluginCommand how to exec the CNI plugin when the node agent has not installed one into the
 *     node's CNI bin dir: the {@code istio-cni} launcher with the module jar, or (tests) a {@code java}
 *     command line running the same main class
 * @param agentCommand the node agent's command line without its flags: {@code ./ambient cni-agent}, or
 *     (tests) a {@code java} command line running its main class
 * @param ztunnelCommand ztunnel's command line: {@code ./ambient ztunnel}, or (tests) a {@code java} command line
 */
record Install(Path home, List<String> pluginCommand, Optional<Path> pluginJar, List<String> agentCommand,
    List<String> ztunnelCommand) {

  /** Node processes through the {@code ./ambient} launcher in {@code home}. */
  Install(Path home, List<String> pluginCommand, Optional<Path> pluginJar) {
    this(home, pluginCommand, pluginJar, List.of(home.resolve("ambient").toString(), "cni-agent"),
        List.of(home.resolve("ambient").toString(), "ztunnel"));
  }

  static Install fromEnvironment() {
    String h = System.getenv("AMBIENT_HOME");
    Path home = Path.of(h == null || h.isBlank() ? "." : h).toAbsolutePath().normalize();
    return new Install(home, List.of(home.resolve("cni-plugin/src/main/dist/istio-cni").toString()),
        findJar(home.resolve("cni-plugin/target"), "ambient-cni-plugin-"));
  }

  /**
   * The plugin to exec on a node: the one the agent installed into {@code binDir}, else ours; with the
   * environment it needs to find its jar.
   */
  List<String> plugin(Path binDir) {
    Path installed = binDir.resolve(CniInvocation.PLUGIN_TYPE);
    return Files.isExecutable(installed) ? List.of(installed.toString()) : pluginCommand;
  }

  static Optional<Path> findJar(Path dir, String prefix) {
    if (!Files.isDirectory(dir)) {
      return Optional.empty();
    }
    try (Stream<Path> s = Files.list(dir)) {
      List<Path> jars = new ArrayList<>(s.filter(p -> {
        String n = p.getFileName().toString();
        return n.startsWith(prefix) && n.endsWith(".jar") && !n.contains("sources") && !n.contains("tests");
      }).sorted().toList());
      return jars.isEmpty() ? Optional.empty() : Optional.of(jars.getFirst());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
