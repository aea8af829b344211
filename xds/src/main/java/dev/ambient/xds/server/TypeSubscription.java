package dev.ambient.xds.server;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What one stream subscribed to for one type URL, and what the client is believed to hold.
 *
 * <p>Modes, as istiod implements them: <em>wildcard</em> (the legacy empty initial request, or a
 * subscription to {@code *}) means every resource of the type; subscribing {@code *} and
 * unsubscribing {@code *} in one request means <em>on demand</em>: only explicitly subscribed names,
 * where a name is a primary name or an alias (e.g. {@code network/IP}); the answer carries the
 * resource under its primary name with its aliases, and an unknown name is answered in {@code
 * removed_resources}.
 *
 * <p>Not thread-safe: owned by its stream and used only on that stream's serial executor.
 */
final class TypeSubscription {
  /** What to send for this type now: resources to (re)send and names to remove. */
  record Delta(List<StoredResource> resources, List<String> removed) {
    boolean isEmpty() {
      return resources.isEmpty() && removed.isEmpty();
    }
  }

  private boolean wildcard;
  private final Set<String> names = new LinkedHashSet<>();
  private final Map<String, String> sent = new HashMap<>();
  private final Map<String, String> nacked = new HashMap<>();
  private final Set<String> reportedMissing = new LinkedHashSet<>();
  /**
   * The version of the snapshot the last {@link #next} brought a wildcard subscription up to date with, or -1.
   * A snapshot made from that one ({@link TypeSnapshot#baseVersion()}) is diffed by its changed names only.
   */
  private long syncedVersion = -1;

  boolean wildcard() {
    return wildcard;
  }

  Set<String> names() {
    return names;
  }

  /**
   * Applies the first request of the type on this stream: its mode and the versions the client
   * claims to hold ({@code initial_resource_versions}; an empty version means "always send").
   */
  void applyInitial(List<String> subscribe, List<String> unsubscribe, Map<String, String> initialVersions) {
    if (subscribe.isEmpty() && unsubscribe.isEmpty()) {
      wildcard = true;
    }
    for (var e : initialVersions.entrySet()) {
      if (!e.getValue().isEmpty()) {
        sent.put(e.getKey(), e.getValue());
      }
    }
    applyChanges(subscribe, unsubscribe, null);
    if (!wildcard) {
      // istiod: for a non-wildcard stream the claimed names are subscriptions too.
      names.addAll(initialVersions.keySet());
    }
  }

  /**
   * Applies a later subscription change. An explicit subscription is answered even when the client
   * was already sent the resource (it asks because it does not have it).
   */
  void applyChanges(List<String> subscribe, List<String> unsubscribe, TypeSnapshot snapshot) {
    syncedVersion = -1; // what the client holds changed otherwise than by a push: compare everything next time
    for (String s : subscribe) {
      if (s.equals("*")) {
        wildcard = true;
      } else {
        names.add(s);
        reportedMissing.remove(s);
        if (snapshot != null) {
          snapshot.resolve(s).ifPresent(r -> sent.remove(r.name()));
        }
      }
    }
    for (String u : unsubscribe) {
      if (u.equals("*")) {
        wildcard = false;
        continue;
      }
      names.remove(u);
      reportedMissing.remove(u);
      if (!wildcard && snapshot != null) {
        // The client forgets what it unsubscribed: drop it silently unless still wanted.
        Set<String> stillWanted = new LinkedHashSet<>();
        for (String n : names) {
          snapshot.resolve(n).ifPresent(r -> stillWanted.add(r.name()));
        }
        snapshot.resolve(u).ifPresent(r -> {
          if (!stillWanted.contains(r.name())) {
            sent.remove(r.name());
          }
        });
        sent.remove(u);
      }
    }
  }

  /**
   * Computes what the client lacks relative to {@code snapshot}, and records it as sent. A wildcard subscription
   * that is up to date with the snapshot this one was made from looks only at the changed names (a push after a
   * one-resource change does not walk 11,000 resources); otherwise every wanted resource is compared.
   */
  Delta next(TypeSnapshot snapshot) {
    if (wildcard && syncedVersion >= 0 && snapshot.version() == syncedVersion) {
      return new Delta(List.of(), List.of()); // the very snapshot it is up to date with
    }
    if (wildcard && syncedVersion >= 0 && snapshot.baseVersion() == syncedVersion) {
      List<StoredResource> resources = new ArrayList<>();
      List<String> removed = new ArrayList<>();
      for (String name : snapshot.changedSinceBase()) {
        StoredResource r = snapshot.resources().get(name);
        if (r == null) {
          if (sent.remove(name) != null) {
            removed.add(name);
          }
          nacked.remove(name);
        } else if (!r.version().equals(sent.get(name)) && !r.version().equals(nacked.get(name))) {
          resources.add(r);
          sent.put(name, r.version());
          nacked.remove(name);
        }
      }
      syncedVersion = snapshot.version();
      return new Delta(List.copyOf(resources), List.copyOf(removed));
    }
    syncedVersion = wildcard ? snapshot.version() : -1;
    Map<String, StoredResource> wanted;
    Set<String> removed = new LinkedHashSet<>();
    if (wildcard) {
      wanted = snapshot.resources(); // immutable; not copied (11,000 entries at mesh scale, on every push)
    } else {
      wanted = new LinkedHashMap<>();
      for (String n : names) {
        var r = snapshot.resolve(n);
        if (r.isPresent()) {
          wanted.put(r.get().name(), r.get());
          reportedMissing.remove(n);
        } else if (reportedMissing.add(n)) {
          removed.add(n);
        }
      }
    }
    List<StoredResource> resources = new ArrayList<>();
    for (StoredResource r : wanted.values()) {
      if (!r.version().equals(sent.get(r.name())) && !r.version().equals(nacked.get(r.name()))) {
        resources.add(r);
      }
    }
    for (String held : sent.keySet()) {
      if (!wanted.containsKey(held)) {
        removed.add(held);
      }
    }
    for (StoredResource r : resources) {
      sent.put(r.name(), r.version());
      nacked.remove(r.name());
    }
    for (String n : removed) {
      sent.remove(n);
      nacked.remove(n);
    }
    return new Delta(List.copyOf(resources), List.copyOf(removed));
  }

  /** The client rejected these versions: do not send them again until they change. */
  void rejected(Map<String, String> versions) {
    nacked.putAll(versions);
  }
}
