package dev.ambient.ztunnel.inpod;

import dev.ambient.ztunnel.ZtunnelConfig.WorkloadInfo;
import java.util.Optional;

/**
 * What the {@link ZdsClient} reports, in order, from its one thread (spec §7.2): a connection,
 * the snapshot's adds and keeps, {@code SnapshotSent}, later adds and deletes, the disconnect.
 */
public interface ZdsHandler {
  /** A new connection: a new snapshot phase begins. */
  void connected();

  /**
   * {@code AddWorkload}. Takes ownership of {@code netns}.
   *
   * @return the error to ack with, empty for success
   */
  Optional<String> add(String uid, WorkloadInfo info, PodNetns netns);

  /** {@code KeepWorkload} (only before {@code SnapshotSent}; the client checks). */
  void keep(String uid);

  /** {@code DelWorkload}; an unknown uid is a no-op. */
  void delete(String uid);

  /** {@code SnapshotSent}: drop every proxy not mentioned since {@link #connected()}. */
  void snapshotSent();

  /** The connection ended; proxies keep running until the next snapshot reconciles them. */
  void disconnected();
}
