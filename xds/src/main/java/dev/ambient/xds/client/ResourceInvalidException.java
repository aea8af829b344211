package dev.ambient.xds.client;

/**
 * A resource decoded but broke a rule of the workload API (bad IP length, unknown enum value, ...).
 * Checked so a parser cannot forget to report it; stackless because it is data validation, not a
 * bug, and a big push may carry many of them. The message is the NACK reason, without the name.
 */
public final class ResourceInvalidException extends Exception {
  private static final long serialVersionUID = 1L;

  public ResourceInvalidException(String reason) {
    super(reason, null, false, false);
  }
}
