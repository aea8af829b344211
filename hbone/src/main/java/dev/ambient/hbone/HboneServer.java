package dev.ambient.hbone;

import static java.util.Objects.requireNonNull;

import dev.ambient.identity.HboneTls;
import dev.ambient.net.Transport;
import io.netty.channel.EventLoopGroup;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;

/** HBONE server. STUB: API only. */
public final class HboneServer implements AutoCloseable {
  private HboneServer() {}

  public static Builder builder() {
    return new Builder();
  }

  public InetSocketAddress localAddress() {
    throw new UnsupportedOperationException("stub");
  }

  /** Stop accepting, send GOAWAY, wait for streams up to {@code deadline}, then close the rest. */
  public CompletableFuture<Void> shutdownGracefully(Duration deadline) {
    throw new UnsupportedOperationException("stub");
  }

  @Override
  public void close() {
    throw new UnsupportedOperationException("stub");
  }

  public static final class Builder {
    private Transport transport = Transport.defaultTransport();
    private @Nullable EventLoopGroup group;
    private @Nullable Supplier<HboneTls> tls;
    private @Nullable HboneHandler handler;
    private Http2Config http2 = Http2Config.serverDefaults();
    private InetSocketAddress bind = new InetSocketAddress("127.0.0.1", 0);

    Builder() {}

    public Builder transport(Transport transport) {
      this.transport = requireNonNull(transport, "transport");
      return this;
    }

    /** Event loops to use (not closed by the server); default: a group of the transport, owned. */
    public Builder eventLoopGroup(EventLoopGroup group) {
      this.group = requireNonNull(group, "group");
      return this;
    }

    /** The server's TLS, read for every accepted connection (so rotation takes effect at once). */
    public Builder tls(Supplier<HboneTls> tls) {
      this.tls = requireNonNull(tls, "tls");
      return this;
    }

    public Builder tls(HboneTls tls) {
      requireNonNull(tls, "tls");
      return tls(() -> tls);
    }

    public Builder handler(HboneHandler handler) {
      this.handler = requireNonNull(handler, "handler");
      return this;
    }

    public Builder http2(Http2Config http2) {
      this.http2 = requireNonNull(http2, "http2");
      return this;
    }

    /** Address to listen on; default 127.0.0.1 with an ephemeral port. */
    public Builder bind(InetSocketAddress bind) {
      this.bind = requireNonNull(bind, "bind");
      return this;
    }

    /** Binds and returns the running server; throws when the bind fails. */
    public HboneServer start() {
      throw new UnsupportedOperationException("stub");
    }
  }
}
