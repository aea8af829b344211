package dev.ambient.xds.server;

import dev.ambient.xds.config.PersistentMap;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The immutable set of resources of one type URL at one store version, indexed by primary name and
 * by alias. Readers never lock.
 *
 * <p>A snapshot made by {@link #next} from its predecessor shares the unchanged part of both indexes
 * with it ({@link PersistentMap}) and records which names changed since that predecessor's version, so a
 * subscription that is up to date with the predecessor only looks at those names. It holds no
 * reference to the predecessor.
 */
public final class TypeSnapshot {
  private final String typeUrl;
  private final long version;
  private final PersistentMap<String, StoredResource> byName;
  /** Alias to the names that claim it, in claim order; the first one that exists answers. */
  private final PersistentMap<String, List<String>> aliasToNames;
  private final long baseVersion;
  private final Set<String> changedSinceBase;

  private TypeSnapshot(String typeUrl, long version, PersistentMap<String, StoredResource> byName,
      PersistentMap<String, List<String>> aliasToNames, long baseVersion, Set<String> changedSinceBase) {
    this.typeUrl = typeUrl;
    this.version = version;
    this.byName = byName;
    this.aliasToNames = aliasToNames;
    this.baseVersion = baseVersion;
    this.changedSinceBase = changedSinceBase;
  }

  /** A snapshot built from scratch (no predecessor). */
  TypeSnapshot(String typeUrl, long version, Map<String, StoredResource> resources) {
    this(typeUrl, version, PersistentMap.copyOf(resources), aliasIndex(resources.values()), -1, Set.of());
  }

  private static PersistentMap<String, List<String>> aliasIndex(Collection<StoredResource> resources) {
    Map<String, List<String>> index = new java.util.HashMap<>();
    for (StoredResource r : resources) {
      for (String alias : r.aliases()) {
        index.computeIfAbsent(alias, k -> new ArrayList<>(1)).add(r.name());
      }
    }
    PersistentMap.Editor<String, List<String>> e = PersistentMap.<String, List<String>>of().edit();
    index.forEach((alias, names) -> e.put(alias, List.copyOf(names)));
    return e.build();
  }

  static TypeSnapshot empty(String typeUrl) {
    return new TypeSnapshot(typeUrl, 0, PersistentMap.of(), PersistentMap.of(), -1, Set.of());
  }

  /**
   * The snapshot at {@code version} whose resources are {@code resources}, which differ from this one's only in
   * {@code changed} (added, replaced or removed names). Costs in proportion to {@code changed}.
   */
  TypeSnapshot next(long version, PersistentMap<String, StoredResource> resources, Collection<String> changed) {
    PersistentMap.Editor<String, List<String>> aliases = aliasToNames.edit();
    for (String name : changed) {
      StoredResource before = byName.get(name);
      StoredResource after = resources.get(name);
      if (before != null) {
        for (String alias : before.aliases()) {
          List<String> names = aliases.get(alias);
          if (names != null) {
            List<String> rest = new ArrayList<>(names);
            rest.remove(name);
            if (rest.isEmpty()) {
              aliases.remove(alias);
            } else {
              aliases.put(alias, List.copyOf(rest));
            }
          }
        }
      }
      if (after != null) {
        for (String alias : after.aliases()) {
          List<String> names = aliases.get(alias);
          if (names == null) {
            aliases.put(alias, List.of(name));
          } else if (!names.contains(name)) {
            List<String> more = new ArrayList<>(names);
            more.add(name);
            aliases.put(alias, List.copyOf(more));
          }
        }
      }
    }
    return new TypeSnapshot(typeUrl, version, resources, aliases.build(), this.version, Set.copyOf(changed));
  }

  public String typeUrl() {
    return typeUrl;
  }

  /** The store version at which this snapshot was published (0 when nothing was ever published). */
  public long version() {
    return version;
  }

  public Map<String, StoredResource> resources() {
    return byName;
  }

  /**
   * The version of the snapshot this one was made from by {@link #next}, or -1 when it was built from scratch;
   * {@link #changedSinceBase()} is relative to it.
   */
  long baseVersion() {
    return baseVersion;
  }

  /** The names whose resource differs from the base snapshot's (added, replaced or removed). */
  Set<String> changedSinceBase() {
    return changedSinceBase;
  }

  public Optional<StoredResource> get(String name) {
    return Optional.ofNullable(byName.get(name));
  }

  /** Finds a resource by its primary name or, failing that, by one of its aliases. */
  public Optional<StoredResource> resolve(String nameOrAlias) {
    StoredResource r = byName.get(nameOrAlias);
    if (r != null) {
      return Optional.of(r);
    }
    List<String> names = aliasToNames.get(nameOrAlias);
    return names == null ? Optional.empty() : Optional.ofNullable(byName.get(names.getFirst()));
  }

  @Override
  public String toString() {
    return "TypeSnapshot{" + typeUrl + " v" + version + ", " + byName.size() + " resources}";
  }
}
