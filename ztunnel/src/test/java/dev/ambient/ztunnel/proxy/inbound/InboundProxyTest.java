package dev.ambient.ztunnel.proxy.inbound;

import static dev.ambient.ztunnel.proxy.inbound.InboundHarness.CLIENT_IP;
import static dev.ambient.ztunnel.proxy.inbound.InboundHarness.OTHER_CLIENT_IP;
import static dev.ambient.ztunnel.proxy.inbound.InboundHarness.POD_IP;
import static dev.ambient.ztunnel.proxy.inbound.InboundHarness.TRANSPORT;
import static dev.ambient.ztunnel.proxy.inbound.InboundHarness.address;
import static dev.ambient.ztunnel.proxy.inbound.InboundHarness.eventually;
import static dev.ambient.ztunnel.state.Fixtures.ip;
import static dev.ambient.ztunnel.state.Fixtures.workload;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ambient.hbone.Authority;
import dev.ambient.hbone.HboneClient;
import dev.ambient.hbone.HboneConnectRequest;
import dev.ambient.hbone.HboneException;
import dev.ambient.hbone.HboneStream;
import dev.ambient.hbone.PoolConfig;
import dev.ambient.identity.HboneTls;
import dev.ambient.identity.SpiffeId;
import dev.ambient.testing.LeakDetectionExtension;
import dev.ambient.testing.TestCa;
import dev.ambient.xds.client.Workload;
import dev.ambient.ztunnel.authz.LiveConnections;
import dev.ambient.ztunnel.proxy.EchoServer;
import dev.ambient.ztunnel.proxy.RecordingTelemetry;
import dev.ambient.ztunnel.telemetry.ConnectionFacts;
import dev.ambient.ztunnel.telemetry.Reporter;
import dev.ambient.ztunnel.telemetry.ResponseFlag;
import dev.ambient.ztunnel.telemetry.SecurityPolicy;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

/** The HBONE inbound listener end to end on loopback: real TLS, hbone's client as the peer. */
@ExtendWith(LeakDetectionExtension.class)
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class InboundProxyTest {
  private static final SpiffeId SERVER_ID = SpiffeId.of("cluster.local", "default", "default");
  private static final String CLIENT_URI = "spiffe://cluster.local/ns/client-ns/sa/client-sa";

  private final InboundHarness h = new InboundHarness();
  private final HboneTls clientTls = InboundHarness.tls(h.ca, CLIENT_URI);
  private final List<AutoCloseable> closeables = new ArrayList<>();
  private final HboneClient client = HboneClient.builder().transport(TRANSPORT).eventLoopGroup(h.group)
      .config(PoolConfig.defaults()).build();

  @AfterEach
  void tearDown() throws Exception {
    client.close();
    for (int i = closeables.size() - 1; i >= 0; i--) {
      closeables.get(i).close();
    }
    h.close();
  }

  private Workload server() {
    return workload("server").ip(POD_IP).build();
  }

  private Workload clientWorkload() {
    return workload("client").namespace("client-ns").sa("client-sa").ip(CLIENT_IP).build();
  }

  private InboundProxy proxy() {
    InboundProxy p = InboundProxy.bind(h.inputs(false), new InetSocketAddress(POD_IP, 0));
    closeables.add(p);
    return p;
  }

  private EchoServer echo() {
    EchoServer e = new EchoServer(h.group, InboundHarness.TRANSPORT, new InetSocketAddress(POD_IP, 0));
    closeables.add(e);
    return e;
  }

  private HboneConnectRequest request(InboundProxy proxy, HboneTls tls, String sourceIp, String authority) {
    return new HboneConnectRequest(tls, List.of(SERVER_ID), proxy.localAddress(), ip(sourceIp),
        Authority.parse(authority).orElseThrow(), java.util.Map.of());
  }

  /** Opens a CONNECT and returns the HTTP status the listener answered (200 or the refusal). */
  private int status(HboneConnectRequest request) {
    try {
      HboneStream s = client.open(request).join();
      s.channel().close().syncUninterruptibly();
      return 200;
    } catch (CompletionException e) {
      assertThat(e.getCause()).isInstanceOf(HboneException.class);
      HboneException he = (HboneException) e.getCause();
      assertThat(he.reason()).isEqualTo(HboneException.Reason.HTTP_STATUS);
      return he.status();
    }
  }

  /** A TCP port on {@link InboundHarness#CLIENT_IP} whose connections are tunnelled with {@code request}. */
  private InetSocketAddress entrance(HboneConnectRequest request) {
    Channel l = new ServerBootstrap().group(h.group).channel(TRANSPORT.serverSocketChannel())
        .childOption(ChannelOption.AUTO_READ, false)
        .childOption(ChannelOption.ALLOW_HALF_CLOSURE, true)
        .childHandler(new ChannelInitializer<Channel>() {
          @Override
          protected void initChannel(Channel ch) {
            ch.pipeline().addLast(new ChannelInboundHandlerAdapter() {
              @Override
              public void channelActive(ChannelHandlerContext ctx) {
                client.open(request).whenComplete((s, err) -> {
                  if (err != null) {
                    ch.close();
                  } else {
                    s.relay(ch);
                  }
                });
              }
            });
          }
        })
        .bind(new InetSocketAddress(CLIENT_IP, 0)).syncUninterruptibly().channel();
    closeables.add(() -> l.close().syncUninterruptibly());
    return address(l);
  }

  private static String readExactly(InputStream in, int n) throws IOException {
    return new String(in.readNBytes(n), StandardCharsets.UTF_8);
  }

  @Test
  void allowedConnection_relaysBytesToTheLocalWorkload_andReportsTelemetry() throws Exception {
    h.publish(server(), clientWorkload());
    EchoServer echo = echo();
    InboundProxy proxy = proxy();
    InetSocketAddress in = entrance(request(proxy, clientTls, CLIENT_IP, POD_IP + ":" + echo.address().getPort()));
    try (Socket s = new Socket(in.getAddress(), in.getPort())) {
      s.getOutputStream().write("hello inbound".getBytes(StandardCharsets.UTF_8));
      assertThat(readExactly(s.getInputStream(), 13)).isEqualTo("hello inbound");
      assertThat(proxy.activeConnections()).isEqualTo(1);
      s.shutdownOutput();
      assertThat(s.getInputStream().read()).as("FIN relayed back").isEqualTo(-1);
    }
    assertThat(eventually(5_000, () -> h.telemetry.closed.size() == 1)).isTrue();
    RecordingTelemetry.Closed c = h.telemetry.closed.getFirst();
    assertThat(c.clientToServer()).isEqualTo(13);
    assertThat(c.serverToClient()).isEqualTo(13);
    assertThat(c.flag()).isEqualTo(ResponseFlag.NONE);
    ConnectionFacts f = c.facts();
    assertThat(f.reporter()).isEqualTo(Reporter.DESTINATION);
    assertThat(f.securityPolicy()).isEqualTo(SecurityPolicy.MUTUAL_TLS);
    assertThat(f.sourceIdentity()).contains(SpiffeId.parse(CLIENT_URI));
    assertThat(f.sourceWorkload()).map(Workload::name).contains("client");
    assertThat(f.destinationWorkload()).map(Workload::name).contains("server");
    assertThat(f.source().getAddress()).isEqualTo(ip(CLIENT_IP));
    assertThat(f.destination()).isEqualTo(new InetSocketAddress(ip(POD_IP), echo.address().getPort()));
    assertThat(h.spoofRequests).as("listener not transparent: no spoofing").containsOnlyNulls();
    assertThat(eventually(2_000, () -> proxy.activeConnections() == 0)).isTrue();
    assertThat(h.live.size()).isZero();
  }

  @Test
  void acceptedStream_carriesResponseBaggageOfTheDestination() {
    h.publish(server());
    EchoServer echo = echo();
    InboundProxy proxy = proxy();
    HboneStream s = client.open(request(proxy, clientTls, CLIENT_IP, POD_IP + ":" + echo.address().getPort())).join();
    try {
      assertThat(String.valueOf(s.responseHeaders().get("baggage")))
          .contains("k8s.namespace.name=default").contains("k8s.deployment.name=server");
    } finally {
      s.channel().close().syncUninterruptibly();
    }
  }

  @Test
  void authorityOfAnotherIp_is400() {
    h.publish(server());
    InboundProxy proxy = proxy();
    assertThat(status(request(proxy, clientTls, CLIENT_IP, "127.0.0.9:8080"))).isEqualTo(400);
    assertThat(h.telemetry.failed).hasSize(1);
    assertThat(h.telemetry.opened).isEmpty();
  }

  @Test
  void illegalPort_is503() {
    h.publish(server());
    InboundProxy proxy = proxy();
    assertThat(status(request(proxy, clientTls, CLIENT_IP, POD_IP + ":15006"))).isEqualTo(503);
  }

  @Test
  void denyPolicy_is401_andReportedWithFlagDeny() {
    h.publish(server());
    h.publishPolicies(Policies.index(Policies.denyAll("default")));
    InboundProxy proxy = proxy();
    assertThat(status(request(proxy, clientTls, CLIENT_IP, POD_IP + ":8080"))).isEqualTo(401);
    assertThat(h.telemetry.closed).singleElement().satisfies(c -> {
      assertThat(c.flag()).isEqualTo(ResponseFlag.DENY);
      assertThat(c.error()).isEqualTo("explicitly denied by: default/deny-all");
    });
  }

  @Test
  void allowPrincipal_allowsThatClient_and401sAnother() {
    h.publish(server());
    EchoServer echo = echo();
    h.publishPolicies(Policies.index(Policies.allowPrincipal("default", "cluster.local/ns/client-ns/sa/client-sa")));
    InboundProxy proxy = proxy();
    String authority = POD_IP + ":" + echo.address().getPort();
    assertThat(status(request(proxy, clientTls, CLIENT_IP, authority))).isEqualTo(200);
    HboneTls other = InboundHarness.tls(h.ca, "spiffe://cluster.local/ns/other/sa/other");
    assertThat(status(request(proxy, other, OTHER_CLIENT_IP, authority))).isEqualTo(401);
  }

  @Test
  void denyPolicyPublishedWhileOpen_closesTheConnection() throws Exception {
    h.publish(server());
    EchoServer echo = echo();
    InboundProxy proxy = proxy();
    InetSocketAddress in = entrance(request(proxy, clientTls, CLIENT_IP, POD_IP + ":" + echo.address().getPort()));
    try (Socket s = new Socket(in.getAddress(), in.getPort())) {
      s.setSoTimeout(10_000);
      s.getOutputStream().write("ping".getBytes(StandardCharsets.UTF_8));
      assertThat(readExactly(s.getInputStream(), 4)).isEqualTo("ping");
      assertThat(h.live.size()).isEqualTo(1);

      h.publishPolicies(Policies.index(Policies.denyAll("default")));

      assertThat(h.revoked).hasSize(1);
      int read;
      try {
        read = s.getInputStream().read();
      } catch (IOException reset) {
        read = -1;
      }
      assertThat(read).as("closed by the policy change").isEqualTo(-1);
    }
    assertThat(eventually(5_000, () -> h.telemetry.closed.size() == 1)).isTrue();
    assertThat(h.telemetry.closed.getFirst().flag()).isEqualTo(ResponseFlag.DENY);
    assertThat(h.telemetry.closed.getFirst().error()).isEqualTo(LiveConnections.CLOSE_REASON);
    assertThat(h.live.size()).isZero();
  }

  @Test
  void upstreamRefused_is503_andReportedWithFlagConnect() throws Exception {
    h.publish(server());
    int closedPort;
    try (ServerSocket ss = new ServerSocket(0, 1, ip(POD_IP))) {
      closedPort = ss.getLocalPort();
    }
    InboundProxy proxy = proxy();
    assertThat(status(request(proxy, clientTls, CLIENT_IP, POD_IP + ":" + closedPort))).isEqualTo(503);
    assertThat(eventually(2_000, () -> h.telemetry.closed.size() == 1)).isTrue();
    assertThat(h.telemetry.closed.getFirst().flag()).isEqualTo(ResponseFlag.CONNECT);
  }

  @Test
  void peerFromAnotherTrustDomain_handshakeRefused() {
    h.publish(server());
    InboundProxy proxy = proxy();
    HboneTls foreign = InboundHarness.tls(TestCa.create("other.domain"), "spiffe://other.domain/ns/x/sa/y");
    assertThatThrownBy(() -> client.open(request(proxy, foreign, CLIENT_IP, POD_IP + ":8080")).join())
        .isInstanceOf(CompletionException.class)
        .cause().isInstanceOf(HboneException.class)
        .satisfies(e -> assertThat(((HboneException) e).reason()).isNotEqualTo(HboneException.Reason.HTTP_STATUS));
    assertThat(h.telemetry.opened).isEmpty();
  }

  @Test
  void proxyAppTunnel_writesProxyV2HeaderBeforeClientBytes() throws Exception {
    ByteArrayOutputStream received = new ByteArrayOutputStream();
    Channel sink = h.sink("127.0.0.1", received);
    closeables.add(() -> sink.close().syncUninterruptibly());
    int tunnelPort = address(sink).getPort();
    h.publish(workload("server").ip(POD_IP).appTunnel(tunnelPort).build());
    InboundProxy proxy = proxy();
    InetSocketAddress in = entrance(request(proxy, clientTls, CLIENT_IP, "127.0.0.9:80"));
    try (Socket s = new Socket(in.getAddress(), in.getPort())) {
      s.getOutputStream().write("hi".getBytes(StandardCharsets.UTF_8));
      assertThat(eventually(5_000, () -> {
        synchronized (received) {
          return received.size() >= 16 + 12 + 3 + CLIENT_URI.length() + 2;
        }
      })).isTrue();
    }
    int clientPort = h.telemetry.opened.getFirst().source().getPort();
    int uriLength = CLIENT_URI.length(); // 48
    String expected = "0d0a0d0a000d0a515549540a" + "2111" + "003f"   // 12 + 3 + 48 = 63
        + "7f000003" + "7f000009" + String.format("%04x", clientPort) + "0050"
        + "d0" + String.format("%04x", uriLength) + HexFormat.of().formatHex(CLIENT_URI.getBytes(StandardCharsets.US_ASCII))
        + HexFormat.of().formatHex("hi".getBytes(StandardCharsets.US_ASCII));
    synchronized (received) {
      assertThat(HexFormat.of().formatHex(received.toByteArray())).isEqualTo(expected);
    }
  }

  @Test
  void drain_sendsGoawayAndClosesWhatIsLeftAtTheDeadline() throws Exception {
    h.publish(server());
    EchoServer echo = echo();
    InboundProxy proxy = InboundProxy.bind(h.inputs(false), new InetSocketAddress(POD_IP, 0));
    InetSocketAddress in = entrance(request(proxy, clientTls, CLIENT_IP, POD_IP + ":" + echo.address().getPort()));
    try (Socket s = new Socket(in.getAddress(), in.getPort())) {
      s.getOutputStream().write("x".getBytes(StandardCharsets.UTF_8));
      assertThat(readExactly(s.getInputStream(), 1)).isEqualTo("x");
      proxy.drain(Duration.ofMillis(300)).get(5, TimeUnit.SECONDS);
      assertThat(proxy.activeConnections()).isZero();
    }
  }
}
