package dev.ambient.ztunnel.admin;

import static java.util.Objects.requireNonNull;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The startup tasks ztunnel is still waiting for (spec §9.4): {@code state manager}, {@code proxy},
 * {@code dns proxy}, {@code workload proxy manager}. Ready when none is pending. Thread-safe.
 *
 * <p>A name may be registered more than once (each registration is one pending task); the name is
 * pending until every handle for it is done.
 */
public final class Readiness {
  private final Map<String, Integer> pending = new HashMap<>();

  /** One registered task; {@link #done()} is idempotent. */
  public final class Task {
    private final String name;
    private boolean done;

    private Task(String name) {
      this.name = name;
    }

    public String name() {
      return name;
    }

    /** Marks the task complete (further calls do nothing). */
    public void done() {
      synchronized (Readiness.this) {
        if (done) {
          return;
        }
        done = true;
        pending.computeIfPresent(name, (k, n) -> n == 1 ? null : n - 1);
      }
    }
  }

  /** Adds a pending task named {@code name}. */
  public synchronized Task register(String name) {
    requireNonNull(name, "name");
    if (name.isBlank()) {
      throw new IllegalArgumentException("readiness task name is blank");
    }
    pending.merge(name, 1, Integer::sum);
    return new Task(name);
  }

  /** Whether no task is pending. */
  public synchronized boolean ready() {
    return pending.isEmpty();
  }

  /** The pending task names, sorted. */
  public synchronized List<String> pendingTasks() {
    List<String> names = new ArrayList<>(pending.keySet());
    names.sort(null);
    return names;
  }

  /** The pending task names, sorted and comma-separated ("" when ready). */
  public String pendingDescription() {
    return String.join(", ", pendingTasks());
  }

  @Override
  public String toString() {
    return "Readiness{pending=[" + pendingDescription() + "]}";
  }
}
