package dev.ambient.ztunnel.inpod;

/**
 * A ZDS message that cannot be used (spec §7.4). {@linkplain #fatal() Fatal} ones are protocol
 * errors of an incompatible node agent (missing workload_info, Keep after the snapshot, a second
 * SnapshotSent): ztunnel acks with the error and stops. The others (undecodable bytes, a descriptor
 * where none belongs or a missing one) are acked with the error and the connection is re-made.
 */
public final class ZdsException extends Exception {
  private final boolean fatal;

  ZdsException(String message, boolean fatal) {
    super(message);
    this.fatal = fatal;
  }

  ZdsException(String message, Throwable cause) {
    super(message, cause);
    this.fatal = false;
  }

  /** Whether this is a protocol error after which the workload manager must stop. */
  public boolean fatal() {
    return fatal;
  }
}
