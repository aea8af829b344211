package dev.ambient.xds.server;

import static java.util.Objects.requireNonNull;

import dev.ambient.xds.config.PersistentMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.locks.Lock;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Immutable, versioned snapshots of resources per type URL.
 *
 * <h2>Threading</h2>
 * There is one writer at a time ({@link #publish} is serialised by a lock); readers call {@link
 * #snapshot} and get an immutable {@link TypeSnapshot} through one volatile read. Listeners are told
 * after a publish, on the publishing thread, in the order of the types in the published map (push
 * ordering: Address before Authorization); they must not block (a stream hands the work to its own
 * serial executor).
 */
public final class ResourceStore {
  /** Told after a type's snapshot was replaced by one with different content. */
  public interface Listener {
    void onChange(TypeSnapshot snapshot);
  }

  private final Lock writeLock = new ReentrantLock();
  private final List<Listener> listeners = new CopyOnWriteArrayList<>();
  private volatile Map<String, TypeSnapshot> snapshots = Map.of();
  private long version; // guarded by writeLock

  public TypeSnapshot snapshot(String typeUrl) {
    TypeSnapshot s = snapshots.get(typeUrl);
    return s != null ? s : TypeSnapshot.empty(typeUrl);
  }

  public void addListener(Listener listener) {
    listeners.add(requireNonNull(listener, "listener"));
  }

  public void removeListener(Listener listener) {
    listeners.remove(listener);
  }

  /**
   * Replaces the full content of each given type. A type whose content is unchanged keeps its
   * snapshot and nobody is told. Returns the store version after the publish. Compares every
   * resource: the control plane uses {@link #publishChanges}.
   */
  public long publish(Map<String, ? extends Map<String, StoredResource>> byType) {
    Map<String, StoredResources.Update> updates = new LinkedHashMap<>();
    Map<String, TypeSnapshot> current = snapshots;
    byType.forEach((type, resources) -> {
      TypeSnapshot old = current.get(type);
      Map<String, StoredResource> before = old == null ? Map.of() : old.resources();
      Set<String> changed = new LinkedHashSet<>();
      resources.forEach((name, r) -> {
        if (!r.equals(before.get(name))) {
          changed.add(name);
        }
      });
      before.keySet().forEach(name -> {
        if (!resources.containsKey(name)) {
          changed.add(name);
        }
      });
      updates.put(type, new StoredResources.Update(PersistentMap.copyOf(resources), changed));
    });
    return publishChanges(updates);
  }

  /**
   * Updates each given type: its new resources differ from the current snapshot's only in the update's
   * changed names (see {@link StoredResources}). The new snapshot is made from the current one in
   * proportion to the change ({@link TypeSnapshot#next}). A type with no changed name keeps its
   * snapshot and nobody is told. Returns the store version after the publish.
   */
  long publishChanges(Map<String, StoredResources.Update> byType) {
    List<TypeSnapshot> changed = new java.util.ArrayList<>();
    long after;
    writeLock.lock();
    try {
      Map<String, TypeSnapshot> next = new LinkedHashMap<>(snapshots);
      long candidate = version + 1;
      for (var e : byType.entrySet()) {
        if (e.getValue().changed().isEmpty()) {
          continue;
        }
        TypeSnapshot old = next.getOrDefault(e.getKey(), TypeSnapshot.empty(e.getKey()));
        TypeSnapshot s = old.next(candidate, e.getValue().resources(), e.getValue().changed());
        next.put(e.getKey(), s);
        changed.add(s);
      }
      if (!changed.isEmpty()) {
        version = candidate;
        snapshots = Map.copyOf(next);
      }
      after = version;
    } finally {
      writeLock.unlock();
    }
    // Told outside the lock. Listeners may see notifications of concurrent publishes out of order,
    // so a listener must read the newest snapshot when it acts rather than trust the argument's age
    // (DeltaStream does).
    for (TypeSnapshot s : changed) {
      for (Listener l : listeners) {
        l.onChange(s);
      }
    }
    return after;
  }
}
