package dev.ambient.identity;

/** A string that is not an Istio SPIFFE id; the message names the input and the reason. */
public final class InvalidSpiffeIdException extends IllegalArgumentException {
  private static final long serialVersionUID = 1L;

  private final String input;

  public InvalidSpiffeIdException(String input, String reason) {
    super("invalid SPIFFE id '" + input + "': " + reason);
    this.input = input;
  }

  /** The string that failed to parse. */
  public String input() {
    return input;
  }
}
