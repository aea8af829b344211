package dev.ambient.hbone;

import static java.util.Objects.requireNonNull;

import dev.ambient.net.Transport;
import io.netty.channel.EventLoopGroup;
import java.util.concurrent.CompletableFuture;
import org.jspecify.annotations.Nullable;

/** HBONE client with its connection pool. STUB: API only. */
public final class HboneClient implements AutoCloseable {
  private HboneClient() {}

  public static Builder builder() {
    return new Builder();
  }

  /**
   * Opens a tunnel: checks out (or creates) a pooled connection for the request's {@link PoolKey},
   * sends the CONNECT and completes when the server answered 200. Fails with {@link HboneException}.
   */
  public CompletableFuture<HboneStream> open(HboneConnectRequest request) {
    throw new UnsupportedOperationException("stub");
  }

  /** Live connections in the pool for {@code key}. */
  public int connectionCount(PoolKey key) {
    throw new UnsupportedOperationException("stub");
  }

  /** Live connections in the pool. */
  public int connectionCount() {
    throw new UnsupportedOperationException("stub");
  }

  @Override
  public void close() {
    throw new UnsupportedOperationException("stub");
  }

  public static final class Builder {
    private Transport transport = Transport.defaultTransport();
    private @Nullable EventLoopGroup group;
    private PoolConfig config = PoolConfig.defaults();

    Builder() {}

    public Builder transport(Transport transport) {
      this.transport = requireNonNull(transport, "transport");
      return this;
    }

    public Builder eventLoopGroup(EventLoopGroup group) {
      this.group = requireNonNull(group, "group");
      return this;
    }

    public Builder config(PoolConfig config) {
      this.config = requireNonNull(config, "config");
      return this;
    }

    public HboneClient build() {
      throw new UnsupportedOperationException("stub");
    }
  }
}
