package dev.ambient.xds.server;

import com.google.protobuf.Any;
import com.google.protobuf.Message;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Turns the messages of one type into {@link StoredResource}s, reusing the previous {@code
 * StoredResource} of a name whose message and aliases did not change.
 *
 * <p>Packing a message into an {@code Any} serialises it and its version is a SHA-256 of the bytes:
 * for 11,000 resources that was most of a reload although a change touches one or two of them. A
 * message that is the same instance as last time, or {@code equals} it (protobuf messages have value
 * equality, which is much cheaper than serialising and hashing), keeps its previous {@code
 * StoredResource}: same version, same {@code Any}, so the store's diff sees it unchanged and it is not
 * sent again. The result is identical to packing everything afresh, because the version is a pure
 * function of the content.
 *
 * <h2>Threading</h2>
 * Not thread-safe: the control plane uses one instance per type on its config thread.
 */
final class StoredResources {
  private record Entry(Message message, StoredResource stored) {}

  private Map<String, Entry> previous = Map.of();
  private int reused; // of the last call, for tests and debug logging

  /**
   * The stored form of {@code messages}, by name. Unordered: a {@link TypeSnapshot} does not keep an order
   * (sorting 11,000 names was a tenth of a reload).
   */
  Map<String, StoredResource> toStored(Map<String, ? extends Message> messages, Map<String, List<String>> aliases) {
    Map<String, Entry> next = HashMap.newHashMap(messages.size());
    Map<String, StoredResource> out = HashMap.newHashMap(messages.size());
    int hits = 0;
    for (Map.Entry<String, ? extends Message> me : messages.entrySet()) {
      String name = me.getKey();
      Message m = me.getValue();
      List<String> a = aliases.getOrDefault(name, List.of());
      Entry prev = previous.get(name);
      StoredResource s;
      if (prev != null && (prev.message() == m || prev.message().equals(m)) && prev.stored().aliases().equals(a)) {
        s = prev.stored();
        hits++;
      } else {
        s = StoredResource.of(name, Any.pack(m), a);
      }
      next.put(name, new Entry(m, s));
      out.put(name, s);
    }
    previous = next;
    reused = hits;
    return out;
  }

  /** How many resources the last {@link #toStored} call reused. */
  int reusedLastTime() {
    return reused;
  }
}
