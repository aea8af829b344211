package dev.ambient.ztunnel.telemetry;

/** The {@code connection_security_policy} label. */
public enum SecurityPolicy {
  MUTUAL_TLS("mutual_tls"),
  UNKNOWN("unknown");

  private final String label;

  SecurityPolicy(String label) {
    this.label = label;
  }

  public String label() {
    return label;
  }
}
