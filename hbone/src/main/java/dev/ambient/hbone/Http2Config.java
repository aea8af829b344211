package dev.ambient.hbone;

import java.time.Duration;

/**
 * HTTP/2 parameters of an HBONE connection (spec §4.4). Sizes are bytes.
 *
 * @param streamWindow initial stream flow-control window (SETTINGS_INITIAL_WINDOW_SIZE); ztunnel's
 *     {@code HTTP2_STREAM_WINDOW_SIZE}, default 4 MiB
 * @param connectionWindow connection flow-control window, raised with a WINDOW_UPDATE on stream 0
 *     at start; {@code HTTP2_CONNECTION_WINDOW_SIZE}, default 16 MiB
 * @param maxFrameSize SETTINGS_MAX_FRAME_SIZE; {@code HTTP2_FRAME_SIZE}, default 1 MiB
 * @param maxHeaderListSize SETTINGS_MAX_HEADER_LIST_SIZE; 16 KiB client, 64 KiB server
 * @param maxConcurrentStreams SETTINGS_MAX_CONCURRENT_STREAMS advertised (server: 200)
 * @param keepaliveInterval PING after this much time (first PING one interval after start)
 * @param keepaliveTimeout a PING unanswered this long closes the connection
 * @param maxResetsPerWindow RST_STREAM frames accepted from the peer per {@code resetWindow} before
 *     the connection is closed (rapid-reset protection, CVE-2023-44487). Netty's default of 200 per
 *     30 s is far too low for a node proxy, whose clients reset a stream for every reset TCP
 *     connection; a flood is still thousands per second. Default 10,000 per 30 s; 0 disables.
 * @param resetWindow the window for {@code maxResetsPerWindow}
 */
public record Http2Config(
    int streamWindow,
    int connectionWindow,
    int maxFrameSize,
    int maxHeaderListSize,
    int maxConcurrentStreams,
    Duration keepaliveInterval,
    Duration keepaliveTimeout,
    int maxResetsPerWindow,
    Duration resetWindow) {

  public static final int MIB = 1 << 20;
  public static final int DEFAULT_MAX_RESETS = 10_000;
  public static final Duration DEFAULT_RESET_WINDOW = Duration.ofSeconds(30);

  public Http2Config {
    if (streamWindow < 65_535 || connectionWindow < 65_535) {
      throw new IllegalArgumentException("flow-control windows must be at least 65535 bytes (RFC 9113 §6.9.2)");
    }
    if (maxFrameSize < 16_384 || maxFrameSize > 16_777_215) {
      throw new IllegalArgumentException("max frame size must be within 16384..16777215 (RFC 9113 §6.5.2)");
    }
    if (maxHeaderListSize < 1024 || maxConcurrentStreams < 1) {
      throw new IllegalArgumentException("max header list size and max concurrent streams must be positive");
    }
    if (keepaliveInterval.isNegative() || keepaliveTimeout.isNegative()) {
      throw new IllegalArgumentException("keepalive durations must not be negative");
    }
    if (maxResetsPerWindow < 0 || resetWindow.isNegative() || (maxResetsPerWindow > 0 && resetWindow.isZero())) {
      throw new IllegalArgumentException("reset limit must be >= 0 per a positive window");
    }
  }

  /** The outbound pool's settings. */
  public static Http2Config clientDefaults() {
    return new Http2Config(4 * MIB, 16 * MIB, MIB, 16 * 1024, 100, Duration.ofSeconds(10), Duration.ofSeconds(20),
        DEFAULT_MAX_RESETS, DEFAULT_RESET_WINDOW);
  }

  /** The inbound (15008) listener's settings. */
  public static Http2Config serverDefaults() {
    return new Http2Config(4 * MIB, 16 * MIB, MIB, 64 * 1024, 200, Duration.ofSeconds(10), Duration.ofSeconds(20),
        DEFAULT_MAX_RESETS, DEFAULT_RESET_WINDOW);
  }

  public Http2Config withWindows(int stream, int connection) {
    return new Http2Config(stream, connection, maxFrameSize, maxHeaderListSize, maxConcurrentStreams,
        keepaliveInterval, keepaliveTimeout, maxResetsPerWindow, resetWindow);
  }

  public Http2Config withKeepalive(Duration interval, Duration timeout) {
    return new Http2Config(streamWindow, connectionWindow, maxFrameSize, maxHeaderListSize, maxConcurrentStreams,
        interval, timeout, maxResetsPerWindow, resetWindow);
  }

  public Http2Config withMaxConcurrentStreams(int streams) {
    return new Http2Config(streamWindow, connectionWindow, maxFrameSize, maxHeaderListSize, streams,
        keepaliveInterval, keepaliveTimeout, maxResetsPerWindow, resetWindow);
  }

  public Http2Config withResetLimit(int maxResets, Duration window) {
    return new Http2Config(streamWindow, connectionWindow, maxFrameSize, maxHeaderListSize, maxConcurrentStreams,
        keepaliveInterval, keepaliveTimeout, maxResets, window);
  }

  public Http2Config withMaxFrameSize(int size) {
    return new Http2Config(streamWindow, connectionWindow, size, maxHeaderListSize, maxConcurrentStreams,
        keepaliveInterval, keepaliveTimeout, maxResetsPerWindow, resetWindow);
  }
}
