package dev.ambient.ztunnel.inpod;

import static java.util.Objects.requireNonNull;

import dev.ambient.ztunnel.ZtunnelConfig.WorkloadInfo;

/** One decoded ZDS request from the node agent (spec §1.3, §7.2). */
sealed interface ZdsEvent {
  /** {@code AddWorkload} with its netns descriptor (owned by the receiver). */
  record Add(String uid, WorkloadInfo info, int netnsFd) implements ZdsEvent {
    public Add {
      requireNonNull(uid, "uid");
      requireNonNull(info, "info");
    }
  }

  /** {@code KeepWorkload}: keep a running proxy through the snapshot reconcile. */
  record Keep(String uid) implements ZdsEvent {
    public Keep {
      requireNonNull(uid, "uid");
    }
  }

  /** {@code DelWorkload}. */
  record Del(String uid) implements ZdsEvent {
    public Del {
      requireNonNull(uid, "uid");
    }
  }

  /** {@code SnapshotSent}: the snapshot is complete; reconcile. */
  record SnapshotSent() implements ZdsEvent {}
}
