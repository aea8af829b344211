package dev.ambient.ztunnel.e2e;

import dev.ambient.hbone.HboneDecision;
import dev.ambient.hbone.HboneRequest;
import dev.ambient.hbone.HboneServer;
import dev.ambient.hbone.UpstreamConnector;
import dev.ambient.identity.HboneTls;
import dev.ambient.identity.SpiffeId;
import dev.ambient.net.Transport;
import io.netty.channel.EventLoopGroup;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

/**
 * A network (east-west) gateway as spec §4.7 expects one, for tests: an HBONE server with its own
 * identity that accepts the <em>outer</em> CONNECT of double HBONE from allowed peers, routes its
 * {@code hostname:port} authority to a backend HBONE address, and relays the stream's bytes there
 * untouched. It never terminates the inner TLS: it sees the outer request only.
 */
final class EastWestGateway implements AutoCloseable {
  /** One outer CONNECT as the gateway saw it. */
  record Seen(SpiffeId peer, String authority, Map<String, List<String>> headers) {
    Optional<String> header(String name) {
      List<String> v = headers.get(name);
      return v == null || v.isEmpty() ? Optional.empty() : Optional.of(v.getFirst());
    }
  }

  private final Transport transport = Transport.select(Optional.empty());
  private final EventLoopGroup group = transport.newEventLoopGroup(1, "eastwest");
  private final List<Seen> seen = new CopyOnWriteArrayList<>();
  private final Map<String, InetSocketAddress> routes = new ConcurrentHashMap<>();
  private final List<SpiffeId> allowed;
  private final InetSocketAddress source;
  private final HboneServer server;

  /**
   * @param bind where to listen (the gateway workload's IP)
   * @param allowed the peer identities whose outer CONNECTs are accepted (others get 401)
   */
  EastWestGateway(InetSocketAddress bind, HboneTls tls, List<SpiffeId> allowed) {
    this.allowed = List.copyOf(allowed);
    this.source = new InetSocketAddress(bind.getAddress(), 0);
    this.server = HboneServer.builder()
        .transport(transport)
        .eventLoopGroup(group)
        .tls(tls)
        .handler(this::onConnect)
        .bind(bind)
        .start();
  }

  InetSocketAddress address() {
    return server.localAddress();
  }

  /** Routes outer CONNECTs for {@code authority} ({@code hostname:port}) to the HBONE listener {@code backend}. */
  void route(String authority, InetSocketAddress backend) {
    routes.put(authority, backend);
  }

  List<Seen> seen() {
    return List.copyOf(seen);
  }

  private CompletableFuture<HboneDecision> onConnect(HboneRequest request) {
    String authority = request.authority().toString();
    seen.add(new Seen(request.peerIdentity(), authority, request.headers()));
    if (!allowed.contains(request.peerIdentity())) {
      return CompletableFuture.completedFuture(new HboneDecision.Reject(401, "peer " + request.peerIdentity()
          + " not allowed through the gateway"));
    }
    InetSocketAddress backend = routes.get(authority);
    if (backend == null) {
      return CompletableFuture.completedFuture(new HboneDecision.Reject(503, "no route for " + authority));
    }
    // The inner tunnel's bytes, as they are, to the backend's HBONE port, from the gateway's address.
    return CompletableFuture.completedFuture(new HboneDecision.Accept(
        UpstreamConnector.tcp(backend, transport, Duration.ofSeconds(5), b -> b.localAddress(source))));
  }

  @Override
  public void close() {
    server.close();
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
  }
}
