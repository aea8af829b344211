package dev.ambient.xds.server;

import com.google.protobuf.Message;
import java.util.List;
import java.util.Map;

/**
 * The result of loading the config directory: resources by primary name, the aliases of each name,
 * and the files that could not be used (whose last good content is kept by the loader).
 *
 * @param addresses {@code istio.workload.Address} messages by primary name
 * @param aliases aliases per primary name (e.g. {@code network/IP})
 * @param policies {@code istio.security.Authorization} messages by {@code namespace/name}
 * @param problems the bad files, with line and reason
 * @param warnings content that loaded but is not enforced as written
 */
public record LoadedConfig(
    Map<String, ? extends Message> addresses,
    Map<String, List<String>> aliases,
    Map<String, ? extends Message> policies,
    List<ConfigProblem> problems,
    List<ConfigProblem> warnings) {
  public LoadedConfig(Map<String, ? extends Message> addresses, Map<String, List<String>> aliases,
      Map<String, ? extends Message> policies, List<ConfigProblem> problems) {
    this(addresses, aliases, policies, problems, List.of());
  }

  public LoadedConfig {
    addresses = Map.copyOf(addresses);
    aliases = Map.copyOf(aliases);
    policies = Map.copyOf(policies);
    problems = List.copyOf(problems);
    warnings = List.copyOf(warnings);
  }
}
