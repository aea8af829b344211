package dev.ambient.hbone;

import static java.util.Objects.requireNonNull;

/**
 * Why an HBONE tunnel could not be opened or was lost. Messages are meant for operators: they say
 * what failed and, where one is likely, the cause.
 */
public final class HboneException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /** The failure taxonomy; each reason maps to one access-log flag upstream. */
  public enum Reason {
    /** TCP connect to the peer's HBONE port timed out. */
    CONNECT_TIMEOUT,
    /** TCP connect was refused or failed. */
    CONNECT_FAILED,
    /** The TLS handshake failed (peer certificate refused, or ours refused by the peer). */
    TLS_FAILURE,
    /** The HTTP/2 connection failed or closed before the stream was answered. */
    CONNECTION_LOST,
    /** The peer answered the CONNECT with a non-200 status ({@link #status()}). */
    HTTP_STATUS,
    /** The peer reset the stream before answering. */
    STREAM_RESET,
    /** The client or server is closed or draining. */
    CLOSED,
  }

  private final Reason reason;
  private final int status;

  private HboneException(Reason reason, int status, String message, Throwable cause) {
    super(message, cause, false, true);
    this.reason = requireNonNull(reason, "reason");
    this.status = status;
  }

  public static HboneException connectTimeout(Object destination, long millis) {
    return new HboneException(Reason.CONNECT_TIMEOUT, 0, "timed out after " + millis + " ms connecting to " + destination
        + " (maybe a NetworkPolicy is blocking HBONE port 15008)", null);
  }

  public static HboneException connectFailed(Object destination, Throwable cause) {
    return new HboneException(Reason.CONNECT_FAILED, 0, "connect to " + destination + " failed: " + describe(cause), cause);
  }

  public static HboneException tlsFailure(Object destination, Throwable cause) {
    return new HboneException(Reason.TLS_FAILURE, 0, "TLS handshake with " + destination + " failed: " + describe(cause), cause);
  }

  public static HboneException connectionLost(Object destination, String detail, Throwable cause) {
    return new HboneException(Reason.CONNECTION_LOST, 0, "HTTP/2 connection to " + destination + " lost: " + detail, cause);
  }

  public static HboneException httpStatus(Object destination, String authority, int status) {
    return new HboneException(Reason.HTTP_STATUS, status,
        "CONNECT " + authority + " via " + destination + " answered with status " + status, null);
  }

  public static HboneException streamReset(Object destination, String authority, long errorCode) {
    return new HboneException(Reason.STREAM_RESET, 0,
        "CONNECT " + authority + " via " + destination + " was reset by the peer (error code " + errorCode + ")", null);
  }

  public static HboneException closed(String what) {
    return new HboneException(Reason.CLOSED, 0, what + " is closed", null);
  }

  public Reason reason() {
    return reason;
  }

  /** The HTTP status for {@link Reason#HTTP_STATUS}, else 0. */
  public int status() {
    return status;
  }

  /** The distinct messages along a cause chain, joined: one log line that says why. */
  static String causes(@org.jspecify.annotations.Nullable Throwable t) {
    if (t == null) {
      return "unknown";
    }
    StringBuilder sb = new StringBuilder();
    for (Throwable c = t; c != null; c = c.getCause() == c ? null : c.getCause()) {
      String m = c.getMessage();
      if (m != null && sb.indexOf(m) < 0) {
        sb.append(sb.isEmpty() ? "" : ": ").append(m);
      }
      if (c.getCause() == null && sb.isEmpty()) {
        sb.append(c.getClass().getSimpleName());
      }
    }
    return sb.toString();
  }

  private static String describe(Throwable t) {
    Throwable root = t;
    while (root.getCause() != null && root.getCause() != root) {
      root = root.getCause();
    }
    String msg = root.getMessage();
    return msg == null ? root.getClass().getSimpleName() : msg;
  }
}
