package dev.ambient.ztunnel.authz;

import static java.util.Objects.requireNonNull;

import dev.ambient.xds.client.Workload;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;

/**
 * The live inbound connections, re-checked whenever the policies change (spec §6.6). A connection
 * that a new {@link PolicyIndex} denies is closed through its close callback and reported as a
 * {@link Revoked} (flag {@code DENY}, error "connection closed due to policy change").
 *
 * <h2>Lifecycle</h2>
 * The proxy authorizes a connection, {@link #register registers} the {@link AuthorizedConnection}
 * with a close callback, relays, and {@link Registration#close() unregisters} when the connection
 * ends. The control plane calls {@link #reevaluate} after each Authorization batch with at least
 * one valid update. Workload changes alone do not call it.
 *
 * <h2>Registration races a policy change</h2>
 * ztunnel registers before the initial check so that no policy change is missed. Here the check
 * comes first (registration needs the proof), so the race is closed differently: {@code
 * reevaluate} first publishes its index in {@code latest} (volatile) and then walks the set, and
 * {@code register} first adds to the set and then reads {@code latest}. Either the walk sees the
 * new entry, or {@code register} sees the newer index and re-checks against it; both may happen,
 * and the once-only close makes that harmless.
 *
 * <h2>Threading</h2>
 * {@link #register} and {@link Registration#close()} run on data-path threads and take no lock:
 * the set is a {@link ConcurrentHashMap} key set. {@link #reevaluate} is control-plane work; calls
 * are serialized on a private monitor so that {@code latest} only moves forward, and never block
 * the data path. Close callbacks run on the thread that detects the denial (the re-evaluating
 * thread, or a registering thread); they must be non-blocking (e.g. schedule a close on the
 * channel's event loop).
 */
public final class LiveConnections {
  /** The error recorded for a connection closed here. */
  public static final String CLOSE_REASON = "connection closed due to policy change";

  private final Authorizer authorizer;
  private final Consumer<Revoked> onRevoked;
  private final Set<Entry> entries = ConcurrentHashMap.newKeySet();
  private final Object reevaluateMonitor = new Object();
  private volatile @Nullable Latest latest;

  /**
   * @param onRevoked told of every connection closed by a policy change (also those caught at
   *     registration); called after the close callback, on the same thread
   */
  public LiveConnections(Authorizer authorizer, Consumer<Revoked> onRevoked) {
    this.authorizer = requireNonNull(authorizer, "authorizer");
    this.onRevoked = requireNonNull(onRevoked, "onRevoked");
  }

  /** A connection closed because the policies changed. */
  public record Revoked(AuthorizedConnection connection, Decision.Deny deny) {
    public Revoked {
      requireNonNull(connection, "connection");
      requireNonNull(deny, "deny");
    }

    /** The access-log flag: {@code DENY}. */
    public String flag() {
      return Decision.Deny.FLAG;
    }

    /** The access-log error, {@value LiveConnections#CLOSE_REASON}, and why. */
    public String error() {
      return CLOSE_REASON + " (" + deny.message() + ")";
    }
  }

  /** A registered connection; {@link #close()} unregisters it (idempotent). */
  public interface Registration extends AutoCloseable {
    /** Whether a policy change closed the connection. */
    boolean revoked();

    @Override
    void close();
  }

  /**
   * Registers a live connection. If a policy change newer than the one {@code connection} was
   * authorized against has already been applied and denies it, {@code close} runs before this
   * returns and the registration is already {@link Registration#revoked() revoked}.
   *
   * @param close closes the connection (cancels the relay); called at most once
   */
  public Registration register(AuthorizedConnection connection, Runnable close) {
    Entry e = new Entry(requireNonNull(connection, "connection"), requireNonNull(close, "close"));
    entries.add(e);
    Latest l = latest; // read after the add: see the class javadoc
    if (l != null && l.index.generation() > connection.checkedAgainst().generation()) {
      check(e, l, null);
    }
    return e;
  }

  /**
   * Re-checks every live connection against {@code policies} and closes those now denied.
   *
   * @param workloads the current destination workload by uid; when it returns null (workload gone
   *     or unknown) the snapshot captured at accept time is used
   * @return the connections closed by this call
   */
  public List<Revoked> reevaluate(PolicyIndex policies, Function<String, @Nullable Workload> workloads) {
    requireNonNull(policies, "policies");
    requireNonNull(workloads, "workloads");
    synchronized (reevaluateMonitor) {
      Latest current = latest;
      if (current != null && current.index.generation() >= policies.generation()) {
        return List.of(); // stale or repeated: a newer index has already been applied
      }
      Latest l = new Latest(policies, workloads);
      latest = l; // publish before walking: see the class javadoc
      List<Revoked> revoked = new ArrayList<>();
      for (Entry e : entries) {
        check(e, l, revoked);
      }
      return List.copyOf(revoked);
    }
  }

  /** The number of registered connections. */
  public int size() {
    return entries.size();
  }

  private void check(Entry e, Latest l, @Nullable List<Revoked> out) {
    if (e.closed.get()) {
      return;
    }
    AuthorizedConnection c = e.connection;
    if (c.checkedAgainst().generation() > l.index.generation()) {
      return; // authorized under newer policies than these
    }
    Workload current = l.workloads.apply(c.destination().uid());
    Workload destination = current != null ? current : c.destination();
    switch (authorizer.authorize(c.connection(), destination, l.index)) {
      case Decision.Allow ignored -> { }
      case Decision.Deny deny -> {
        if (e.closed.compareAndSet(false, true)) {
          entries.remove(e);
          e.revoked = true;
          e.closeAction.run();
          Revoked r = new Revoked(c, deny);
          onRevoked.accept(r);
          if (out != null) {
            out.add(r);
          }
        }
      }
    }
  }

  private record Latest(PolicyIndex index, Function<String, @Nullable Workload> workloads) {}

  /** Identity-keyed: two registrations of equal connections are distinct entries. */
  private final class Entry implements Registration {
    final AuthorizedConnection connection;
    final Runnable closeAction;
    final AtomicBoolean closed = new AtomicBoolean();
    volatile boolean revoked;

    Entry(AuthorizedConnection connection, Runnable closeAction) {
      this.connection = connection;
      this.closeAction = closeAction;
    }

    @Override
    public boolean revoked() {
      return revoked;
    }

    @Override
    public void close() {
      if (closed.compareAndSet(false, true)) {
        entries.remove(this);
      }
    }
  }
}
