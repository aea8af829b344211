package dev.ambient.hbone;

import static java.util.Objects.requireNonNull;

import java.util.Map;

/** What the application decided for one CONNECT stream. */
public sealed interface HboneDecision {

  /** Refuse the stream with {@code status} (400, 401, 503, ...); the reason is logged, not sent. */
  record Reject(int status, String reason) implements HboneDecision {
    public Reject {
      if (status < 200 || status > 599 || status == 200) {
        throw new IllegalArgumentException("reject status must be a non-200 HTTP status, got " + status);
      }
      requireNonNull(reason, "reason");
    }
  }

  /**
   * Accept: the server connects upstream with {@code connector}; only when that succeeds does it
   * answer 200 (with {@code responseHeaders}) and start relaying. A failed connect answers 503.
   */
  record Accept(UpstreamConnector connector, Map<String, String> responseHeaders) implements HboneDecision {
    public Accept {
      requireNonNull(connector, "connector");
      responseHeaders = Map.copyOf(responseHeaders);
    }

    public Accept(UpstreamConnector connector) {
      this(connector, Map.of());
    }
  }

  static HboneDecision reject(int status, String reason) {
    return new Reject(status, reason);
  }

  static HboneDecision accept(UpstreamConnector connector) {
    return new Accept(connector);
  }
}
