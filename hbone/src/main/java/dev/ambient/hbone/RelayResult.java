package dev.ambient.hbone;

import static java.util.Objects.requireNonNull;

import org.jspecify.annotations.Nullable;

/**
 * How a relay ended.
 *
 * @param bytesFromTcp bytes read from the TCP side and written into the HTTP/2 stream
 * @param bytesToTcp bytes read from the HTTP/2 stream and written to the TCP side
 * @param outcome how it ended
 * @param cause the error, for {@link Outcome#ERROR}
 */
public record RelayResult(long bytesFromTcp, long bytesToTcp, Outcome outcome, @Nullable Throwable cause) {
  public RelayResult {
    requireNonNull(outcome, "outcome");
  }

  public enum Outcome {
    /** Both directions ended with FIN / END_STREAM. */
    CLEAN,
    /** The TCP side was reset; the stream was reset with CONNECT_ERROR. */
    TCP_RESET,
    /** The stream was reset by the peer with an error; the TCP side was reset (SO_LINGER 0). */
    STREAM_RESET,
    /** A local error (I/O, write failure, HTTP/2 connection lost). */
    ERROR,
  }
}
