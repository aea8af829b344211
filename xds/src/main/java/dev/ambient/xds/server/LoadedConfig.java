package dev.ambient.xds.server;

import com.google.protobuf.Message;
import dev.ambient.xds.config.PersistentMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * The result of loading the config directory: resources by primary name, the aliases of each name,
 * and the files that could not be used (whose last good content is kept by the loader).
 *
 * @param addresses {@code istio.workload.Address} messages by primary name
 * @param aliases aliases per primary name (e.g. {@code network/IP})
 * @param policies {@code istio.security.Authorization} messages by {@code namespace/name}
 * @param problems the bad files, with line and reason
 * @param warnings content that loaded but is not enforced as written
 * @param changes which names differ from the previous load of the same source, or null when the source does not
 *     know (then every resource is compared)
 */
public record LoadedConfig(
    Map<String, ? extends Message> addresses,
    Map<String, List<String>> aliases,
    Map<String, ? extends Message> policies,
    List<ConfigProblem> problems,
    List<ConfigProblem> warnings,
    @Nullable Changes changes) {
  /**
   * The names whose resource (or aliases) may differ from the previous load of this source: added, removed or
   * replaced. Every other name must map to the same message instance and alias list as in the previous load.
   */
  public record Changes(Set<String> addresses, Set<String> policies) {
    public Changes {
      addresses = Set.copyOf(addresses);
      policies = Set.copyOf(policies);
    }
  }

  public LoadedConfig(Map<String, ? extends Message> addresses, Map<String, List<String>> aliases,
      Map<String, ? extends Message> policies, List<ConfigProblem> problems) {
    this(addresses, aliases, policies, problems, List.of(), null);
  }

  public LoadedConfig(Map<String, ? extends Message> addresses, Map<String, List<String>> aliases,
      Map<String, ? extends Message> policies, List<ConfigProblem> problems, List<ConfigProblem> warnings) {
    this(addresses, aliases, policies, problems, warnings, null);
  }

  public LoadedConfig {
    // a PersistentMap is immutable already: not copied (11,000 entries on every reload)
    addresses = PersistentMap.copyOf(addresses);
    aliases = PersistentMap.copyOf(aliases);
    policies = PersistentMap.copyOf(policies);
    problems = List.copyOf(problems);
    warnings = List.copyOf(warnings);
  }
}
