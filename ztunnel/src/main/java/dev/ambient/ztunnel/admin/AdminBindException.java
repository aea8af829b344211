package dev.ambient.ztunnel.admin;

import java.net.InetSocketAddress;

/** A local HTTP endpoint could not listen: the message names the server, address, port and reason. */
public final class AdminBindException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final InetSocketAddress address;

  AdminBindException(String server, InetSocketAddress address, Throwable cause) {
    super("cannot start " + server + " on " + address.getAddress().getHostAddress() + " port " + address.getPort()
        + ": " + reason(cause), cause);
    this.address = address;
  }

  /** The address that could not be bound. */
  public InetSocketAddress address() {
    return address;
  }

  private static String reason(Throwable cause) {
    String m = cause.getMessage();
    return m == null || m.isBlank() ? cause.getClass().getSimpleName() : m;
  }
}
