package dev.ambient.xds.server;

import java.util.Collections;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

/**
 * The immutable set of resources of one type URL at one store version, indexed by primary name and
 * by alias. Built once when published; readers never lock.
 */
public final class TypeSnapshot {
  private final String typeUrl;
  private final long version;
  private final Map<String, StoredResource> byName;
  private final Map<String, String> aliasToName;

  TypeSnapshot(String typeUrl, long version, Map<String, StoredResource> resources) {
    this.typeUrl = typeUrl;
    this.version = version;
    this.byName = Map.copyOf(resources);
    Map<String, String> aliases = new HashMap<>();
    for (StoredResource r : resources.values()) {
      for (String alias : r.aliases()) {
        aliases.putIfAbsent(alias, r.name());
      }
    }
    this.aliasToName = Collections.unmodifiableMap(aliases); // never escapes; no second copy
  }

  static TypeSnapshot empty(String typeUrl) {
    return new TypeSnapshot(typeUrl, 0, Map.of());
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

  public Optional<StoredResource> get(String name) {
    return Optional.ofNullable(byName.get(name));
  }

  /** Finds a resource by its primary name or, failing that, by one of its aliases. */
  public Optional<StoredResource> resolve(String nameOrAlias) {
    StoredResource r = byName.get(nameOrAlias);
    if (r != null) {
      return Optional.of(r);
    }
    String primary = aliasToName.get(nameOrAlias);
    return primary == null ? Optional.empty() : Optional.ofNullable(byName.get(primary));
  }

  @Override
  public String toString() {
    return "TypeSnapshot{" + typeUrl + " v" + version + ", " + byName.size() + " resources}";
  }
}
