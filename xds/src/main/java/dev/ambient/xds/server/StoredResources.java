package dev.ambient.xds.server;

import com.google.protobuf.Any;
import com.google.protobuf.Message;
import dev.ambient.xds.config.PersistentMap;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * Turns the messages of one type into {@link StoredResource}s, reusing the previous {@code
 * StoredResource} of a name whose message and aliases did not change, and updating the stored map in
 * place of rebuilding it.
 *
 * <p>Packing a message into an {@code Any} serialises it and its version is a SHA-256 of the bytes:
 * for 11,000 resources that was most of a reload although a change touches one or two of them. A
 * message that is the same instance as last time, or {@code equals} it (protobuf messages have value
 * equality, which is much cheaper than serialising and hashing), keeps its previous {@code
 * StoredResource}: same version, same {@code Any}, so the store's diff sees it unchanged and it is not
 * sent again. The result is identical to packing everything afresh, because the version is a pure
 * function of the content.
 *
 * <p>When the loader says which names changed ({@link LoadedConfig.Changes}), only those are looked at:
 * a one-file edit costs in proportion to the names it touched, not to the 11,000 resources.
 *
 * <h2>Threading</h2>
 * Not thread-safe: the control plane uses one instance per type on its config thread.
 */
final class StoredResources {
  /**
   * The stored resources after an update, and the names whose {@code StoredResource} is not the one of the
   * previous update (added, new version, or removed).
   */
  record Update(PersistentMap<String, StoredResource> resources, Set<String> changed) {}

  private final Map<String, Message> messages = new HashMap<>();
  private PersistentMap<String, StoredResource> stored = PersistentMap.of();
  private int reused; // of the last call, for tests and debug logging

  /** The stored form of {@code messages}, by name, comparing every name (see {@link #update}). */
  Map<String, StoredResource> toStored(Map<String, ? extends Message> messages, Map<String, List<String>> aliases) {
    return update(messages, aliases, null).resources();
  }

  /**
   * The stored form of {@code next}. With {@code candidates}, only those names are compared with the previous
   * call: every other name must map to the same message instance and aliases as in the previous call (what
   * {@link LoadedConfig.Changes} promises). Without, every name is compared and missing names are removed.
   */
  Update update(Map<String, ? extends Message> next, Map<String, List<String>> aliases,
      @Nullable Collection<String> candidates) {
    PersistentMap.Editor<String, StoredResource> out = stored.edit();
    Set<String> changed = new LinkedHashSet<>();
    if (candidates == null) {
      for (String name : Set.copyOf(messages.keySet())) {
        if (!next.containsKey(name)) {
          remove(name, out, changed);
        }
      }
    }
    Collection<String> names = candidates != null ? candidates : next.keySet();
    for (String name : names) {
      Message m = next.get(name);
      if (m == null) {
        remove(name, out, changed);
        continue;
      }
      List<String> a = aliases.getOrDefault(name, List.of());
      Message prev = messages.get(name);
      StoredResource s = out.get(name);
      if (prev == null || s == null || (prev != m && !prev.equals(m)) || !s.aliases().equals(a)) {
        s = StoredResource.of(name, Any.pack(m), a);
        out.put(name, s);
        changed.add(name);
      }
      messages.put(name, m);
    }
    stored = out.build();
    reused = next.size() - changed.size() + (int) changed.stream().filter(n -> !next.containsKey(n)).count();
    return new Update(stored, changed);
  }

  private void remove(String name, PersistentMap.Editor<String, StoredResource> out, Set<String> changed) {
    messages.remove(name);
    if (out.remove(name) != null) {
      changed.add(name);
    }
  }

  /** How many resources the last {@link #update} call kept as they were. */
  int reusedLastTime() {
    return reused;
  }
}
