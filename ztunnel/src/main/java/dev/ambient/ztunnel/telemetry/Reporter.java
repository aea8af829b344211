package dev.ambient.ztunnel.telemetry;

/** The {@code reporter} label: {@code source} for outbound connections, {@code destination} for inbound. */
public enum Reporter {
  SOURCE("source", "outbound"),
  DESTINATION("destination", "inbound");

  private final String label;
  private final String direction;

  Reporter(String label, String direction) {
    this.label = label;
    this.direction = direction;
  }

  /** The metric label value. */
  public String label() {
    return label;
  }

  /** The access log {@code direction} field. */
  public String direction() {
    return direction;
  }
}
