package dev.ambient.xds.client;

import io.grpc.Status;
import java.time.Duration;

/**
 * The reconnect policy of spec §2.6, as a pure state machine: given why a stream ended, how long to
 * wait before the next one. Not thread-safe; owned by the client's serial executor.
 */
final class Backoff {
  static final Duration INITIAL = Duration.ofMillis(10);
  static final Duration MAX = Duration.ofSeconds(15);

  /** Why a stream ended; {@link #label} is the {@code reason} label of the termination metric. */
  enum Reason {
    /** The connection could not be established: sleep, doubling. */
    CONNECTION_ERROR("ConnectionError"),
    /** Any other gRPC error: sleep, doubling. */
    ERROR("Error"),
    /** A routine reset (istiod connection rotation, cancel, deadline): 10 ms, backoff reset. */
    RECONNECT("Reconnect"),
    /** The server ended the stream cleanly: reconnect at once, backoff reset. */
    COMPLETE("Complete");

    final String label;

    Reason(String label) {
      this.label = label;
    }
  }

  private Duration next = INITIAL;

  /** The delay before the next attempt, updating the state. */
  Duration onTermination(Reason reason) {
    return switch (reason) {
      case CONNECTION_ERROR, ERROR -> {
        Duration d = next;
        next = next.multipliedBy(2).compareTo(MAX) > 0 ? MAX : next.multipliedBy(2);
        yield d;
      }
      case RECONNECT -> {
        next = INITIAL;
        yield INITIAL;
      }
      case COMPLETE -> {
        next = INITIAL;
        yield Duration.ZERO;
      }
    };
  }

  /**
   * Classifies a failed stream. {@code established} is whether the server answered on it at all;
   * an UNAVAILABLE before that means we never got a working connection.
   */
  static Reason classify(Status status, boolean established) {
    String description = status.getDescription() == null ? "" : status.getDescription();
    return switch (status.getCode()) {
      case UNKNOWN, CANCELLED, DEADLINE_EXCEEDED -> Reason.RECONNECT;
      case UNAVAILABLE -> {
        if (description.contains("transport is closing") || description.contains("received prior goaway")) {
          yield Reason.RECONNECT;
        }
        yield established ? Reason.ERROR : Reason.CONNECTION_ERROR;
      }
      case OK -> Reason.COMPLETE;
      default -> Reason.ERROR;
    };
  }
}
