package dev.ambient.ztunnel.telemetry;

/** The {@code response_flags} label (spec §9.2); {@link #NONE} renders as {@code -}. */
public enum ResponseFlag {
  NONE("-"),
  DENY("DENY"),
  CONNECT("CONNECT"),
  TLS_FAILURE("TLS_FAILURE"),
  H2_HANDSHAKE_FAILURE("H2_HANDSHAKE_FAILURE"),
  NETWORK_POLICY("NETWORK_POLICY"),
  IDENTITY_ERROR("IDENTITY_ERROR"),
  CERT_REVOKED("CERT_REVOKED");

  private final String label;

  ResponseFlag(String label) {
    this.label = label;
  }

  public String label() {
    return label;
  }
}
