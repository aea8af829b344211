package dev.ambient.hbone;

import static java.util.Objects.requireNonNull;

import java.time.Duration;

/**
 * Outbound pool rules (spec §4.6).
 *
 * @param maxStreamsPerConnection cap on concurrent streams per connection, further limited by the
 *     server's SETTINGS_MAX_CONCURRENT_STREAMS; ztunnel's {@code POOL_MAX_STREAMS_PER_CONNECTION}, 100
 * @param idleTimeout a connection with no stream for this long is closed and leaves the pool;
 *     {@code POOL_UNUSED_RELEASE_TIMEOUT}, 5 minutes
 * @param connectTimeout TCP connect timeout, 10 s
 * @param http2 HTTP/2 settings of the client side
 */
public record PoolConfig(int maxStreamsPerConnection, Duration idleTimeout, Duration connectTimeout, Http2Config http2) {
  public PoolConfig {
    if (maxStreamsPerConnection < 1) {
      throw new IllegalArgumentException("maxStreamsPerConnection must be at least 1");
    }
    requireNonNull(idleTimeout, "idleTimeout");
    requireNonNull(connectTimeout, "connectTimeout");
    requireNonNull(http2, "http2");
  }

  public static PoolConfig defaults() {
    return new PoolConfig(100, Duration.ofMinutes(5), Duration.ofSeconds(10), Http2Config.clientDefaults());
  }

  public PoolConfig withMaxStreamsPerConnection(int n) {
    return new PoolConfig(n, idleTimeout, connectTimeout, http2);
  }

  public PoolConfig withIdleTimeout(Duration d) {
    return new PoolConfig(maxStreamsPerConnection, d, connectTimeout, http2);
  }

  public PoolConfig withConnectTimeout(Duration d) {
    return new PoolConfig(maxStreamsPerConnection, idleTimeout, d, http2);
  }

  public PoolConfig withHttp2(Http2Config h) {
    return new PoolConfig(maxStreamsPerConnection, idleTimeout, connectTimeout, h);
  }
}
