package dev.ambient.xds.server;

import static java.util.Objects.requireNonNull;

/** A control plane failure, with a reason a caller can act on. */
public final class ControlPlaneException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /** Why the control plane failed. */
  public enum Reason {
    /** The config directory is missing or unreadable. */
    CONFIG_DIR,
    /** The listen address cannot be bound (in use, or not local). */
    LISTEN,
    /** The CA could not produce a serving certificate or write its root. */
    CA,
    /** The token file is missing or unreadable. */
    TOKENS,
  }

  private final Reason reason;

  public ControlPlaneException(Reason reason, String message, Throwable cause) {
    super(message, cause);
    this.reason = requireNonNull(reason, "reason");
  }

  public ControlPlaneException(Reason reason, String message) {
    super(message);
    this.reason = requireNonNull(reason, "reason");
  }

  public Reason reason() {
    return reason;
  }
}
