package dev.ambient.xds.server;

import com.google.protobuf.Message;
import dev.ambient.xds.api.security.Authorization;
import dev.ambient.xds.api.workload.Address;
import dev.ambient.xds.api.workload.Workload;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Stands in for the real config loader in the control plane's own tests: each {@code *.yaml} file
 * holds lines {@code workload UID IP}, {@code invalid UID} (a workload clients reject) or
 * {@code policy NS/NAME}; a bad line makes the file bad, and
 * its last good content stays.
 */
final class FakeConfigSource implements ConfigSource {
  private record FileContent(Map<String, Message> addresses, Map<String, List<String>> aliases,
      Map<String, Message> policies) {}

  private final Path dir;
  private final Map<Path, FileContent> lastGood = new HashMap<>();

  FakeConfigSource(Path dir) {
    this.dir = dir;
  }

  @Override
  public LoadedConfig load() {
    List<ConfigProblem> problems = new ArrayList<>();
    Map<Path, FileContent> now = new HashMap<>();
    try (Stream<Path> files = Files.list(dir)) {
      for (Path f : files.filter(p -> p.toString().endsWith(".yaml")).sorted().toList()) {
        FileContent c = parse(f, problems);
        if (c == null) {
          c = lastGood.get(f);
        } else {
          lastGood.put(f, c);
        }
        if (c != null) {
          now.put(f, c);
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    lastGood.keySet().retainAll(now.keySet());
    Map<String, Message> addresses = new HashMap<>();
    Map<String, List<String>> aliases = new HashMap<>();
    Map<String, Message> policies = new HashMap<>();
    for (FileContent c : now.values()) {
      addresses.putAll(c.addresses());
      aliases.putAll(c.aliases());
      policies.putAll(c.policies());
    }
    return new LoadedConfig(addresses, aliases, policies, problems);
  }

  private static FileContent parse(Path f, List<ConfigProblem> problems) throws IOException {
    Map<String, Message> addresses = new HashMap<>();
    Map<String, List<String>> aliases = new HashMap<>();
    Map<String, Message> policies = new HashMap<>();
    List<String> lines = Files.readAllLines(f);
    for (int i = 0; i < lines.size(); i++) {
      String[] w = lines.get(i).strip().split("\\s+");
      if (w.length == 3 && w[0].equals("workload")) {
        addresses.put(w[1], Address.newBuilder().setWorkload(Workload.newBuilder().setUid(w[1]).setName("w")
            .setNamespace("ns").addAddresses(com.google.protobuf.ByteString.copyFrom(
                java.net.InetAddress.getByName(w[2]).getAddress()))).build());
        aliases.put(w[1], List.of("/" + w[2]));
      } else if (w.length == 2 && w[0].equals("invalid")) {
        // Passes the control plane, fails the client's validation (IP of 3 bytes).
        addresses.put(w[1], Address.newBuilder().setWorkload(Workload.newBuilder().setUid(w[1]).setName("w")
            .addAddresses(com.google.protobuf.ByteString.copyFrom(new byte[] {1, 2, 3}))).build());
      } else if (w.length == 2 && w[0].equals("policy")) {
        policies.put(w[1], Authorization.newBuilder().setName(w[1]).build());
      } else if (!(w.length == 1 && w[0].isEmpty())) {
        problems.add(new ConfigProblem(f, i + 1, "cannot parse '" + lines.get(i) + "'"));
        return null;
      }
    }
    return new FileContent(addresses, aliases, policies);
  }
}
