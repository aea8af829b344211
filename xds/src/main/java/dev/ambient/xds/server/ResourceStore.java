package dev.ambient.xds.server;

import static java.util.Objects.requireNonNull;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
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
   * snapshot and nobody is told. Returns the store version after the publish.
   */
  public long publish(Map<String, ? extends Map<String, StoredResource>> byType) {
    List<TypeSnapshot> changed = new java.util.ArrayList<>();
    long after;
    writeLock.lock();
    try {
      Map<String, TypeSnapshot> next = new LinkedHashMap<>(snapshots);
      long candidate = version + 1;
      for (var e : byType.entrySet()) {
        TypeSnapshot old = next.get(e.getKey());
        if (old != null && old.resources().equals(e.getValue())) {
          continue;
        }
        if (old == null && e.getValue().isEmpty()) {
          continue;
        }
        TypeSnapshot s = new TypeSnapshot(e.getKey(), candidate, e.getValue());
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
