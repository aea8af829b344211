package dev.ambient.hbone;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ambient.identity.HboneTls;
import dev.ambient.identity.SpiffeId;
import dev.ambient.identity.TestIdentities;
import dev.ambient.net.Transport;
import dev.ambient.testing.LeakDetectionExtension;
import dev.ambient.testing.TestCa;
import io.netty.channel.Channel;
import io.netty.channel.EventLoopGroup;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * HBONE end to end over loopback with real TLS: app socket → tunnel entrance (HboneClient + Relay)
 * → HboneServer (Relay) → echo server.
 */
@ExtendWith(LeakDetectionExtension.class)
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class HboneLoopbackTest {
  private static final Transport TRANSPORT = Transport.defaultTransport();
  private static EventLoopGroup group;
  private static TestCa ca;
  private static HboneTls serverTls;
  private static HboneTls clientTls;
  private static SpiffeId serverId;
  private static Channel echo;

  private final List<AutoCloseable> closeables = new ArrayList<>();
  private final Map<SpiffeId, Integer> connectsByPeer = new ConcurrentHashMap<>();

  @BeforeAll
  static void startShared() {
    group = TRANSPORT.newEventLoopGroup(2, "loopback-test");
    ca = TestCa.create("cluster.local");
    serverTls = TestIdentities.tls(ca, "default", "server");
    clientTls = TestIdentities.tls(ca, "default", "client");
    serverId = serverTls.certificate().identity();
    echo = TcpServers.echo(group, TRANSPORT);
  }

  @AfterAll
  static void stopShared() {
    echo.close().syncUninterruptibly();
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
  }

  @AfterEach
  void closeAll() throws Exception {
    for (int i = closeables.size() - 1; i >= 0; i--) {
      closeables.get(i).close();
    }
  }

  /** A server whose handler accepts every CONNECT by dialling the authority (counting per peer). */
  private HboneServer server(Http2Config http2) {
    HboneServer s = HboneServer.builder().transport(TRANSPORT).eventLoopGroup(group).tls(serverTls).http2(http2)
        .handler(req -> {
          connectsByPeer.merge(req.peerIdentity(), 1, Integer::sum);
          return CompletableFuture.completedFuture(HboneDecision.accept(
              UpstreamConnector.tcp(req.authority().socketAddress().orElseThrow(), TRANSPORT, Duration.ofSeconds(5))));
        })
        .start();
    closeables.add(s);
    return s;
  }

  private HboneClient client(PoolConfig config) {
    HboneClient c = HboneClient.builder().transport(TRANSPORT).eventLoopGroup(group).config(config).build();
    closeables.add(c);
    return c;
  }

  private HboneConnectRequest request(HboneServer server, HboneTls tls, SpiffeId expected) {
    return HboneConnectRequest.of(tls, expected, server.localAddress(), Authority.of(TcpServers.address(echo)));
  }

  /** A local TCP port whose connections are tunnelled through {@code client} to {@code server}. */
  private InetSocketAddress entrance(HboneClient client, HboneServer server, List<Relay> relays) {
    Channel ch = TcpServers.tunnelEntrance(group, TRANSPORT,
        c -> client.open(request(server, clientTls, serverId)), relays::add);
    closeables.add(() -> ch.close().syncUninterruptibly());
    return TcpServers.address(ch);
  }

  @Test
  @Timeout(value = 300, unit = TimeUnit.SECONDS)
  void oneGibEachWay_arrivesIntactThroughTheTunnel() throws Exception {
    HboneServer server = server(Http2Config.serverDefaults());
    HboneClient client = client(PoolConfig.defaults());
    List<Relay> relays = new java.util.concurrent.CopyOnWriteArrayList<>();
    InetSocketAddress entrance = entrance(client, server, relays);

    long total = 1L << 30;
    byte[] block = new byte[1 << 20];
    ThreadLocalRandom.current().nextBytes(block);
    ExecutorService pool = Executors.newFixedThreadPool(2);
    try (Socket app = new Socket(entrance.getAddress(), entrance.getPort())) {
      Future<String> sent = pool.submit(() -> {
        MessageDigest md = MessageDigest.getInstance("SHA-256");
        OutputStream out = app.getOutputStream();
        for (long i = 0; i < total / block.length; i++) {
          for (int b = 0; b < 8; b++) {
            block[b] = (byte) (i >>> (8 * b)); // every block differs: reordering would show
          }
          out.write(block);
          md.update(block);
        }
        app.shutdownOutput();
        return HexFormat.of().formatHex(md.digest());
      });
      Future<long[]> received = pool.submit(() -> readAllCounting(app.getInputStream()));
      String sentHash = sent.get();
      long[] countAndHash = received.get();
      assertThat(countAndHash[0]).isEqualTo(total);
      assertThat(lastHash).isEqualTo(sentHash);
    } finally {
      pool.shutdownNow();
    }
    assertThat(relays).hasSize(1);
    RelayResult result = relays.getFirst().completion().get(10, TimeUnit.SECONDS);
    assertThat(result.outcome()).isEqualTo(RelayResult.Outcome.CLEAN);
    assertThat(result.bytesFromTcp()).isEqualTo(total);
    assertThat(result.bytesToTcp()).isEqualTo(total);
  }

  private volatile String lastHash;

  private long[] readAllCounting(InputStream in) throws Exception {
    MessageDigest md = MessageDigest.getInstance("SHA-256");
    byte[] buf = new byte[1 << 16];
    long n = 0;
    for (int r; (r = in.read(buf)) >= 0; ) {
      md.update(buf, 0, r);
      n += r;
    }
    lastHash = HexFormat.of().formatHex(md.digest());
    return new long[] {n};
  }

  @Test
  void thousandConcurrentStreams_useTenConnectionsOfAHundred() throws Exception {
    assertStreamsSpreadOver(1000, PoolConfig.defaults(), Http2Config.serverDefaults(), 10);
  }

  @Test
  void serverStreamLimitBelowOurs_isRespected() throws Exception {
    // Our cap 300, the server advertises 200 ⇒ 1000 streams need 5 connections.
    assertStreamsSpreadOver(1000, PoolConfig.defaults().withMaxStreamsPerConnection(300),
        Http2Config.serverDefaults(), 5);
  }

  private void assertStreamsSpreadOver(int streams, PoolConfig config, Http2Config serverHttp2, int expectedConnections)
      throws Exception {
    HboneServer server = server(serverHttp2);
    HboneClient client = client(config);
    HboneConnectRequest req = request(server, clientTls, serverId);
    List<CompletableFuture<HboneStream>> opened = new ArrayList<>();
    for (int i = 0; i < streams; i++) {
      opened.add(client.open(req));
    }
    CompletableFuture.allOf(opened.toArray(CompletableFuture[]::new)).get(60, TimeUnit.SECONDS);

    assertThat(client.connectionCount(req.poolKey())).isEqualTo(expectedConnections);
    assertThat(server.connectionCount()).isEqualTo(expectedConnections);
    assertThat(connectsByPeer).containsEntry(clientTls.certificate().identity(), streams);

    for (CompletableFuture<HboneStream> f : opened) {
      f.get().channel().close();
    }
  }

  @Test
  void halfClose_clientFinishesSending_andStillReceivesTheWholeAnswer() throws Exception {
    HboneServer server = server(Http2Config.serverDefaults());
    HboneClient client = client(PoolConfig.defaults());
    InetSocketAddress entrance = entrance(client, server, new ArrayList<>());
    byte[] request = new byte[3 * 1024 * 1024 + 17];
    ThreadLocalRandom.current().nextBytes(request);

    try (Socket app = new Socket(entrance.getAddress(), entrance.getPort())) {
      CompletableFuture<byte[]> answer = CompletableFuture.supplyAsync(() -> {
        try {
          return app.getInputStream().readAllBytes();
        } catch (IOException e) {
          throw new RuntimeException(e);
        }
      });
      app.getOutputStream().write(request);
      app.shutdownOutput(); // FIN ⇒ END_STREAM; the echo answers after it and then ends too
      assertThat(answer.get(30, TimeUnit.SECONDS)).isEqualTo(request);
    }
  }

  @Test
  void upstreamReset_reachesTheClientAppAsAReset() throws Exception {
    Channel resetter = TcpServers.bind(group, TRANSPORT, ch -> ch.eventLoop().schedule(() -> {
      ch.config().setOption(io.netty.channel.ChannelOption.SO_LINGER, 0);
      ch.close();
    }, 100, TimeUnit.MILLISECONDS), true);
    closeables.add(() -> resetter.close().syncUninterruptibly());
    HboneServer server = server(Http2Config.serverDefaults());
    HboneClient client = client(PoolConfig.defaults());
    List<Relay> relays = new java.util.concurrent.CopyOnWriteArrayList<>();
    Channel ch = TcpServers.tunnelEntrance(group, TRANSPORT, c -> client.open(HboneConnectRequest.of(
        clientTls, serverId, server.localAddress(), Authority.of(TcpServers.address(resetter)))), relays::add);
    closeables.add(() -> ch.close().syncUninterruptibly());
    InetSocketAddress entrance = TcpServers.address(ch);

    try (Socket app = new Socket(entrance.getAddress(), entrance.getPort())) {
      app.setSoTimeout(10_000);
      assertThatThrownBy(() -> app.getInputStream().read()).isInstanceOf(SocketException.class)
          .hasMessageContaining("reset");
    }
    Awaitility.await().atMost(Duration.ofSeconds(5)).until(() -> relays.size() == 1 && relays.getFirst().completion().isDone());
    assertThat(relays.getFirst().completion().get().outcome()).isEqualTo(RelayResult.Outcome.STREAM_RESET);
  }

  @Test
  void clientAppReset_resetsTheUpstreamConnection() throws Exception {
    CompletableFuture<Throwable> upstreamError = new CompletableFuture<>();
    CompletableFuture<Void> upstreamConnected = new CompletableFuture<>();
    Channel observer = TcpServers.bind(group, TRANSPORT, ch -> {
      upstreamConnected.complete(null);
      ch.pipeline().addLast(new io.netty.channel.ChannelInboundHandlerAdapter() {
        @Override
        public void channelRead(io.netty.channel.ChannelHandlerContext ctx, Object msg) {
          TcpServers.release(msg);
        }

        @Override
        public void exceptionCaught(io.netty.channel.ChannelHandlerContext ctx, Throwable cause) {
          upstreamError.complete(cause);
        }

        @Override
        public void channelInactive(io.netty.channel.ChannelHandlerContext ctx) {
          upstreamError.complete(new IllegalStateException("closed without error"));
        }
      });
    }, true);
    closeables.add(() -> observer.close().syncUninterruptibly());
    HboneServer server = server(Http2Config.serverDefaults());
    HboneClient client = client(PoolConfig.defaults());
    Channel ch = TcpServers.tunnelEntrance(group, TRANSPORT, c -> client.open(HboneConnectRequest.of(
        clientTls, serverId, server.localAddress(), Authority.of(TcpServers.address(observer)))), r -> {});
    closeables.add(() -> ch.close().syncUninterruptibly());
    InetSocketAddress entrance = TcpServers.address(ch);

    Socket app = new Socket(entrance.getAddress(), entrance.getPort());
    app.getOutputStream().write(new byte[] {1, 2, 3});
    upstreamConnected.get(10, TimeUnit.SECONDS);
    Thread.sleep(200);
    app.setSoLinger(true, 0);
    app.close(); // RST

    assertThat(upstreamError.get(10, TimeUnit.SECONDS)).isInstanceOf(IOException.class).hasMessageContaining("reset");
  }

  @Test
  void requestHeaders_reachTheHandler() throws Exception {
    CompletableFuture<HboneRequest> seen = new CompletableFuture<>();
    HboneServer server = HboneServer.builder().transport(TRANSPORT).eventLoopGroup(group).tls(serverTls)
        .handler(r -> {
          seen.complete(r);
          return CompletableFuture.completedFuture(HboneDecision.reject(401, "test"));
        })
        .start();
    closeables.add(server);
    HboneClient client = client(PoolConfig.defaults());
    HboneConnectRequest req = request(server, clientTls, serverId)
        .withHeader("baggage", "k8s.namespace.name=default,service.name=client")
        .withHeader("forwarded", "for=\"198.18.0.1:4000\"")
        .withHeader("traceparent", "00-0123456789abcdef0123456789abcdef-0123456789abcdef-00");

    assertThatThrownBy(() -> client.open(req).get(10, TimeUnit.SECONDS))
        .hasCauseInstanceOf(HboneException.class)
        .cause().satisfies(e -> {
          assertThat(((HboneException) e).reason()).isEqualTo(HboneException.Reason.HTTP_STATUS);
          assertThat(((HboneException) e).status()).isEqualTo(401);
        });
    HboneRequest r = seen.get(1, TimeUnit.SECONDS);
    assertThat(r.header("baggage")).contains("k8s.namespace.name=default,service.name=client");
    assertThat(r.header("forwarded")).contains("for=\"198.18.0.1:4000\"");
    assertThat(r.header("traceparent")).contains("00-0123456789abcdef0123456789abcdef-0123456789abcdef-00");
    assertThat(r.peerIdentity()).isEqualTo(clientTls.certificate().identity());
  }

  @Test
  void upstreamConnectFailure_isA503() throws Exception {
    HboneServer server = server(Http2Config.serverDefaults());
    HboneClient client = client(PoolConfig.defaults());
    Channel closedPort = TcpServers.bind(group, TRANSPORT, c -> {}, true);
    InetSocketAddress dead = TcpServers.address(closedPort);
    closedPort.close().syncUninterruptibly();

    HboneException e = failure(client.open(HboneConnectRequest.of(clientTls, serverId, server.localAddress(), Authority.of(dead))));
    assertThat(e.reason()).isEqualTo(HboneException.Reason.HTTP_STATUS);
    assertThat(e.status()).isEqualTo(503);
  }

  @Test
  void idleConnection_isReleasedAfterTheIdleTimeout() throws Exception {
    HboneServer server = server(Http2Config.serverDefaults());
    HboneClient client = client(PoolConfig.defaults().withIdleTimeout(Duration.ofMillis(300)));
    HboneConnectRequest req = request(server, clientTls, serverId);
    HboneStream stream = client.open(req).get(10, TimeUnit.SECONDS);
    assertThat(client.connectionCount(req.poolKey())).isEqualTo(1);

    stream.channel().close().syncUninterruptibly();
    Awaitility.await().atMost(Duration.ofSeconds(5)).until(() -> client.connectionCount() == 0);
    Awaitility.await().atMost(Duration.ofSeconds(5)).until(() -> server.connectionCount() == 0);
  }

  @Test
  void differentSourceIdentities_neverShareAConnection() throws Exception {
    HboneServer server = server(Http2Config.serverDefaults());
    HboneClient client = client(PoolConfig.defaults());
    HboneTls other = TestIdentities.tls(ca, "other", "client");
    HboneStream a = client.open(request(server, clientTls, serverId)).get(10, TimeUnit.SECONDS);
    HboneStream b = client.open(request(server, other, serverId)).get(10, TimeUnit.SECONDS);

    assertThat(a.channel().parent()).isNotSameAs(b.channel().parent());
    assertThat(client.connectionCount()).isEqualTo(2);
    assertThat(connectsByPeer).containsKeys(clientTls.certificate().identity(), other.certificate().identity());
    a.channel().close();
    b.channel().close();
  }

  @Test
  void gracefulShutdown_letsOpenTunnelsFinish_andRefusesNewConnections() throws Exception {
    HboneServer server = HboneServer.builder().transport(TRANSPORT).eventLoopGroup(group).tls(serverTls)
        .handler(req -> CompletableFuture.completedFuture(HboneDecision.accept(
            UpstreamConnector.tcp(req.authority().socketAddress().orElseThrow(), TRANSPORT, Duration.ofSeconds(5)))))
        .start();
    HboneClient client = client(PoolConfig.defaults());
    InetSocketAddress entrance = entrance(client, server, new ArrayList<>());
    try (Socket app = new Socket(entrance.getAddress(), entrance.getPort())) {
      app.getOutputStream().write("before".getBytes());
      assertThat(app.getInputStream().readNBytes(6)).isEqualTo("before".getBytes());

      CompletableFuture<Void> drained = server.shutdownGracefully(Duration.ofSeconds(20));
      Thread.sleep(200);
      assertThat(drained).as("an open stream holds the drain").isNotDone();
      // GOAWAY: the pool no longer uses this connection and the listener is closed.
      assertThat(failure(client.open(request(server, clientTls, serverId))).reason())
          .isIn(HboneException.Reason.CONNECT_FAILED, HboneException.Reason.CONNECTION_LOST);

      app.getOutputStream().write("after".getBytes());
      assertThat(app.getInputStream().readNBytes(5)).as("the open tunnel still works").isEqualTo("after".getBytes());
      app.shutdownOutput();
      assertThat(app.getInputStream().read()).isEqualTo(-1);
      drained.get(10, TimeUnit.SECONDS);
    }
  }

  @Test
  void connection_usesTheConfiguredWindowsAndFrameSize() throws Exception {
    HboneServer server = server(Http2Config.serverDefaults());
    HboneClient client = client(PoolConfig.defaults());
    HboneStream stream = client.open(request(server, clientTls, serverId)).get(10, TimeUnit.SECONDS);
    Channel conn = stream.channel().parent();
    io.netty.handler.codec.http2.Http2FrameCodec codec = conn.pipeline().get(io.netty.handler.codec.http2.Http2FrameCodec.class);
    CompletableFuture<int[]> values = new CompletableFuture<>();
    conn.eventLoop().execute(() -> {
      io.netty.handler.codec.http2.Http2Connection c = codec.connection();
      values.complete(new int[] {
        c.local().flowController().initialWindowSize(),
        c.local().flowController().initialWindowSize(c.connectionStream()),
        c.remote().flowController().initialWindowSize(),
        (int) codec.encoder().configuration().frameSizePolicy().maxFrameSize(),
        c.local().maxActiveStreams(),
      });
    });
    int[] v = values.get(5, TimeUnit.SECONDS);
    int mib = Http2Config.MIB;
    assertThat(v[0]).as("our stream window").isEqualTo(4 * mib);
    assertThat(v[1]).as("our connection window").isEqualTo(16 * mib);
    assertThat(v[2]).as("the server's stream window").isEqualTo(4 * mib);
    assertThat(v[3]).as("max frame size we may send (server setting)").isEqualTo(mib);
    assertThat(v[4]).as("streams the server lets us open").isEqualTo(200);
    stream.channel().close();
  }

  static HboneException failure(CompletableFuture<?> f) throws InterruptedException {
    try {
      f.get(15, TimeUnit.SECONDS);
    } catch (ExecutionException e) {
      assertThat(e.getCause()).isInstanceOf(HboneException.class);
      return (HboneException) e.getCause();
    } catch (java.util.concurrent.TimeoutException e) {
      throw new AssertionError("no answer in 15 s", e);
    }
    throw new AssertionError("expected a failure, but the tunnel opened");
  }
}
