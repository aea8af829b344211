package dev.ambient.xds.config;

import dev.ambient.xds.api.security.Authorization;
import dev.ambient.xds.api.workload.Address;
import dev.ambient.xds.api.workload.NetworkAddress;
import dev.ambient.xds.api.workload.Service;
import dev.ambient.xds.api.workload.Workload;
import dev.ambient.xds.config.IstioSchema.IstioObject;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * The assembler as it was before it became incremental (every load rebuilt everything from all files): kept as
 * the oracle the incremental {@link SnapshotAssembler} is checked against.
 */
final class ReferenceAssembler {
  /** Where a resource was defined, for duplicate and warning messages. */
  private record Origin(Path file, int line) {
    @Override
    public String toString() {
      return file + ":" + line;
    }
  }

  /**
   * What the last assembly made of each address, so that a reload returns the same {@code Address} instance and
   * aliases for an address whose source and bound policies did not change (the server then sees it unchanged by
   * identity instead of rebuilding, serialising and hashing it). Owned by one {@link ConfigDirectory}; not
   * thread-safe (its loads are synchronized).
   */
  static final class Memo {
    private record Entry(Address source, List<String> bound, Address out, List<String> aliases) {}

    private Map<String, Entry> entries = Map.of();
  }

  private final List<ConfigError> errors;
  private final Map<String, Address> addresses = new LinkedHashMap<>();
  private final Map<String, Origin> addressOrigins = new LinkedHashMap<>();
  private final Map<String, Authorization> policies = new LinkedHashMap<>();
  private final Map<String, Origin> policyOrigins = new LinkedHashMap<>();
  private final Map<String, Map<String, String>> labels = new LinkedHashMap<>();
  private final List<IstioObject> objects = new ArrayList<>();
  private final Map<String, Origin> objectOrigins = new LinkedHashMap<>();

  private ReferenceAssembler(List<ConfigError> errors) {
    this.errors = errors;
  }

  static ConfigLoadResult assemble(Map<Path, List<ConfigDocument>> files, String rootNamespace,
      List<ConfigError> errors) {
    return assemble(files, rootNamespace, errors, new Memo());
  }

  /** As {@link #assemble(Map, String, List)}, reusing what {@code memo} holds from the previous assembly. */
  static ConfigLoadResult assemble(Map<Path, List<ConfigDocument>> files, String rootNamespace,
      List<ConfigError> errors, Memo memo) {
    ReferenceAssembler a = new ReferenceAssembler(errors);
    files.forEach((file, docs) -> docs.forEach(d -> a.add(file, d)));
    return a.finish(rootNamespace, memo);
  }

  private void add(Path file, ConfigDocument doc) {
    Origin origin = new Origin(file, doc.line());
    switch (doc) {
      case ConfigDocument.Local local -> {
        local.config().addresses().forEach((name, address) -> {
          if (claim(addressOrigins, name, origin, address.hasWorkload() ? "workload" : "service")) {
            addresses.put(name, address);
          }
        });
        local.config().policies().forEach((name, policy) -> {
          if (claim(policyOrigins, name, origin, "policy")) {
            policies.put(name, policy);
          }
        });
        local.config().workloadLabels().forEach((uid, l) -> {
          if (origin.equals(addressOrigins.get(uid))) {
            labels.put(uid, l);
          }
        });
      }
      case ConfigDocument.Istio istio -> {
        if (claim(objectOrigins, istio.object().key(), origin, "object")) {
          objects.add(istio.object());
        }
      }
    }
  }

  /** Records who defined {@code name}; false (and an error) when someone else did first. */
  private boolean claim(Map<String, Origin> owners, String name, Origin origin, String what) {
    Origin first = owners.putIfAbsent(name, origin);
    if (first == null) {
      return true;
    }
    errors.add(new ConfigError(origin.file(), origin.line(), 0,
        "duplicate " + what + " '" + name + "': already defined at " + first + "; this one is ignored"));
    return false;
  }

  private ConfigLoadResult finish(String rootNamespace, Memo memo) {
    List<IstioTranslator.WorkloadRef> refs = new ArrayList<>();
    addresses.forEach((name, address) -> {
      if (address.hasWorkload()) {
        refs.add(new IstioTranslator.WorkloadRef(
            name, address.getWorkload().getNamespace(), labels.getOrDefault(name, Map.of())));
      }
    });
    IstioTranslator.Translation t = IstioTranslator.translate(objects, refs, rootNamespace);
    t.policies().forEach((name, policy) -> {
      if (claim(policyOrigins, name, originOf(policy), "policy")) {
        policies.put(name, policy);
      }
    });
    List<ConfigError> warnings = new ArrayList<>();
    t.warnings().forEach((key, messages) -> {
      Origin o = objectOrigins.get(key);
      messages.forEach(m -> warnings.add(new ConfigError(o.file(), o.line(), 0, key + ": " + m)));
    });
    Map<String, Address> out = new LinkedHashMap<>();
    Map<String, List<String>> aliases = new LinkedHashMap<>();
    Map<String, Memo.Entry> remembered = HashMap.newHashMap(addresses.size());
    addresses.forEach((name, source) -> {
      List<String> bound = t.workloadPolicies().getOrDefault(name, List.of());
      Memo.Entry e = memo.entries.get(name);
      if (e == null || e.source() != source || !e.bound().equals(bound)) {
        Address address = source;
        if (address.hasWorkload() && !bound.isEmpty()) {
          Workload w = address.getWorkload();
          TreeSet<String> all = new TreeSet<>(w.getAuthorizationPoliciesList());
          all.addAll(bound);
          address = Address.newBuilder()
              .setWorkload(w.toBuilder().clearAuthorizationPolicies().addAllAuthorizationPolicies(all)).build();
        }
        e = new Memo.Entry(source, bound, address, aliases(address));
      }
      remembered.put(name, e);
      out.put(name, e.out());
      aliases.put(name, e.aliases());
    });
    memo.entries = remembered;
    return new ConfigLoadResult(new ConfigSnapshot(out, aliases, policies), errors, warnings,
        new ConfigChanges(java.util.Set.of(), java.util.Set.of()));
  }

  /** The file of the Istio object a translated policy came from (the first PeerAuthentication for the static one). */
  private Origin originOf(Authorization policy) {
    String name = policy.getName();
    String kind = "AuthorizationPolicy";
    if (name.startsWith(PeerAuthenticationTranslator.CONVERTED_PREFIX)) {
      kind = "PeerAuthentication";
      name = name.substring(PeerAuthenticationTranslator.CONVERTED_PREFIX.length());
    }
    Origin o = objectOrigins.get(kind + "/" + policy.getNamespace() + "/" + name);
    if (o != null) {
      return o;
    }
    return objectOrigins.entrySet().stream().filter(e -> e.getKey().startsWith("PeerAuthentication/"))
        .map(Map.Entry::getValue).findFirst().orElseThrow();
  }

  static List<String> aliases(Address address) {
    List<String> out = new ArrayList<>();
    if (address.hasWorkload()) {
      Workload w = address.getWorkload();
      w.getAddressesList().forEach(ip -> out.add(w.getNetwork() + "/" + IpLiterals.format(ip)));
    } else if (address.hasService()) {
      Service s = address.getService();
      for (NetworkAddress a : s.getAddressesList()) {
        String alias = a.getNetwork() + "/" + IpLiterals.format(a.getAddress());
        if (a.hasLength() && a.getLength() != a.getAddress().size() * 8) {
          alias += "/" + a.getLength();
        }
        out.add(alias);
      }
    }
    return List.copyOf(out);
  }
}
