package dev.ambient.ztunnel.proxy.inbound;

import java.util.Optional;

/** The parts of an RFC 7239 {@code forwarded} header the inbound path reads. */
final class Forwarded {
  private Forwarded() {}

  /**
   * The {@code host} parameter of the first element ({@code for="1.2.3.4:5";host=svc.ns.svc}),
   * unquoted; empty when absent or empty.
   */
  static Optional<String> host(String header) {
    int comma = header.indexOf(',');
    String first = comma < 0 ? header : header.substring(0, comma);
    for (String pair : first.split(";")) {
      int eq = pair.indexOf('=');
      if (eq < 0) {
        continue;
      }
      if (pair.substring(0, eq).trim().equalsIgnoreCase("host")) {
        String v = pair.substring(eq + 1).trim();
        if (v.length() >= 2 && v.startsWith("\"") && v.endsWith("\"")) {
          v = v.substring(1, v.length() - 1);
        }
        return v.isEmpty() ? Optional.empty() : Optional.of(v);
      }
    }
    return Optional.empty();
  }
}
