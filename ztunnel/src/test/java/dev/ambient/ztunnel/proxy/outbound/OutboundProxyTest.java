package dev.ambient.ztunnel.proxy.outbound;

import static dev.ambient.ztunnel.state.Fixtures.gwAddr;
import static dev.ambient.ztunnel.state.Fixtures.ip;
import static dev.ambient.ztunnel.state.Fixtures.push;
import static dev.ambient.ztunnel.state.Fixtures.service;
import static dev.ambient.ztunnel.state.Fixtures.workload;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ambient.hbone.HboneClient;
import dev.ambient.hbone.HboneDecision;
import dev.ambient.hbone.HboneRequest;
import dev.ambient.hbone.HboneServer;
import dev.ambient.hbone.UpstreamConnector;
import dev.ambient.identity.SpiffeId;
import dev.ambient.net.Transport;
import dev.ambient.testing.LeakDetectionExtension;
import dev.ambient.testing.TestCa;
import dev.ambient.xds.client.AddressResource;
import dev.ambient.xds.client.Port;
import dev.ambient.ztunnel.ZtunnelConfig;
import dev.ambient.ztunnel.authz.Authorizer;
import dev.ambient.ztunnel.authz.LiveConnections;
import dev.ambient.ztunnel.authz.PolicyIndex;
import dev.ambient.ztunnel.proxy.EchoServer;
import dev.ambient.ztunnel.proxy.ProxyInputs;
import dev.ambient.ztunnel.proxy.RecordingTelemetry;
import dev.ambient.ztunnel.proxy.Sockets;
import dev.ambient.ztunnel.state.StateHolder;
import dev.ambient.ztunnel.state.StateUpdater;
import dev.ambient.ztunnel.telemetry.ConnectionFacts;
import dev.ambient.ztunnel.telemetry.Reporter;
import dev.ambient.ztunnel.telemetry.ResponseFlag;
import dev.ambient.ztunnel.telemetry.SecurityPolicy;
import io.netty.channel.EventLoopGroup;
import java.io.IOException;
import java.io.InputStream;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The outbound path in-process over loopback with real TLS. Roles: application 127.0.0.2 (the
 * source workload), HBONE workload 127.0.0.3 (an {@link HboneServer} stands in for its ztunnel),
 * TCP workload 127.0.0.4, unknown host 127.0.0.6, the pod application behind the HBONE server
 * 127.0.0.9, VIPs 127.10.0.x. The outbound listener is bound directly on the "original
 * destination" (spec §5.0 fallback to the local address); routes that would dial the listener's
 * own address (direct, passthrough) are driven through SOCKS5.
 */
@ExtendWith(LeakDetectionExtension.class)
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class OutboundProxyTest {
  private static final Transport TRANSPORT = Transport.defaultTransport();
  private static final String APP_IP = "127.0.0.2";
  private static final String HBONE_IP = "127.0.0.3";
  private static final String TCP_IP = "127.0.0.4";
  private static final String UNKNOWN_IP = "127.0.0.6";
  private static final String POD_APP_IP = "127.0.0.9";
  private static final String SVC = "default/svc.default.svc.cluster.local";
  private static final SpiffeId CLIENT_ID = SpiffeId.of("cluster.local", "default", "default");
  private static final SpiffeId SERVER_ID = SpiffeId.of("cluster.local", "default", "server");
  private static final Sockets PLAIN_SOCKETS = new Sockets() {
    @Override
    public java.util.function.Consumer<io.netty.bootstrap.ServerBootstrap> listener() {
      return b -> {};
    }

    @Override
    public boolean transparent() {
      return false;
    }

    @Override
    public java.util.function.Consumer<io.netty.bootstrap.Bootstrap> outgoing(InetAddress spoofSource) {
      return b -> {};
    }
  };

  private static EventLoopGroup group;
  private static TestCa ca;
  private static EchoServer podApp;

  private final List<AutoCloseable> closeables = new ArrayList<>();
  private final StateHolder state = new StateHolder();
  private final StateUpdater updater = new StateUpdater(state);
  private final RecordingTelemetry telemetry = new RecordingTelemetry();
  private final BlockingQueue<HboneRequest> connects = new LinkedBlockingQueue<>();
  /** When non-zero, the destination ztunnel refuses every CONNECT with this status. */
  private volatile int refuseWith;
  private HboneClient hbone;
  private HboneServer serverZtunnel;
  private ProxyInputs inputs;

  @BeforeAll
  static void startShared() {
    group = TRANSPORT.newEventLoopGroup(2, "outbound-test");
    ca = TestCa.create("cluster.local");
    podApp = new EchoServer(group, TRANSPORT, new InetSocketAddress(ip(POD_APP_IP), 0));
  }

  @AfterAll
  static void stopShared() {
    podApp.close();
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
  }

  @BeforeEach
  void setUp() {
    inputs = new ProxyInputs(ZtunnelConfig.fromEnvironment(Map.of()),
        new ZtunnelConfig.WorkloadInfo("default", "client", "default"), state, () -> PolicyIndex.EMPTY,
        Authorizer.create(), new LiveConnections(Authorizer.create(), r -> {}), new TestCertificates(ca),
        PLAIN_SOCKETS, telemetry, TRANSPORT, group);
    hbone = HboneClient.builder().transport(TRANSPORT).eventLoopGroup(group).build();
    serverZtunnel = hboneServer(SERVER_ID);
  }

  @AfterEach
  void tearDown() throws Exception {
    for (int i = closeables.size() - 1; i >= 0; i--) {
      closeables.get(i).close();
    }
    hbone.close();
    serverZtunnel.close();
  }

  /** The destination's ztunnel: presents {@code identity}, records each CONNECT, dials the pod app. */
  private HboneServer hboneServer(SpiffeId identity) {
    return HboneServer.builder().transport(TRANSPORT).eventLoopGroup(group)
        .tls(TestCertificates.tls(ca, identity))
        .bind(new InetSocketAddress(ip(HBONE_IP), 0))
        .handler(req -> {
          connects.add(req);
          if (refuseWith != 0) {
            return CompletableFuture.completedFuture(new HboneDecision.Reject(refuseWith, "test refusal"));
          }
          return CompletableFuture.completedFuture(
              HboneDecision.accept(UpstreamConnector.tcp(podApp.address(), TRANSPORT, Duration.ofSeconds(5))));
        })
        .start();
  }

  private OutboundProxy.Options options() {
    return OutboundProxy.Options.defaults().withHbonePort(serverZtunnel.localAddress().getPort());
  }

  private OutboundProxy outbound(String ip) {
    return outbound(ip, options());
  }

  private OutboundProxy outbound(String ip, OutboundProxy.Options options) {
    OutboundProxy p = OutboundProxy.bind(inputs, hbone, new InetSocketAddress(ip(ip), 0), options);
    closeables.add(p);
    return p;
  }

  private Socks5Proxy socks() {
    Socks5Proxy p = Socks5Proxy.bind(inputs, hbone, new InetSocketAddress(ip("127.0.0.1"), 0), options());
    closeables.add(p);
    return p;
  }

  private void xds(AddressResource... resources) {
    updater.apply(push(resources));
  }

  private static AddressResource client() {
    return workload("client").ip(APP_IP).build();
  }

  private static AddressResource hboneServerWorkload(Port... ports) {
    return workload("server").sa("server").ip(HBONE_IP).in(SVC, ports).build();
  }

  private static Socket app(InetSocketAddress to) throws IOException {
    Socket s = new Socket();
    s.bind(new InetSocketAddress(ip(APP_IP), 0));
    s.connect(to, 5_000);
    s.setSoTimeout(10_000);
    return s;
  }

  /** Sends {@code n} random bytes, half-closes, and returns what came back. */
  private static byte[] echo(Socket s, int n) throws IOException {
    byte[] data = new byte[n];
    ThreadLocalRandom.current().nextBytes(data);
    s.getOutputStream().write(data);
    s.shutdownOutput();
    byte[] back = s.getInputStream().readAllBytes();
    assertThat(back).isEqualTo(data);
    return back;
  }

  /** Connects and expects a reset; an immediate rejection may already reset the connect itself. */
  private static void assertConnectionReset(InetSocketAddress to) {
    assertThatThrownBy(() -> {
      try (Socket s = app(to)) {
        s.getInputStream().read();
      }
    }).isInstanceOf(SocketException.class).hasMessageContaining("reset");
  }

  private static void assertReset(Socket s) {
    assertThatThrownBy(() -> {
      InputStream in = s.getInputStream();
      in.read();
    }).isInstanceOf(SocketException.class).hasMessageContaining("reset");
  }

  private RecordingTelemetry.Closed awaitClosed() throws InterruptedException {
    Await.until(Duration.ofSeconds(10), () -> !telemetry.closed.isEmpty());
    return telemetry.closed.getFirst();
  }

  // --- HBONE ---

  @Test
  void hbone_workloadAddressed_bytesEchoedThroughTheTunnel_andReported() throws Exception {
    xds(client(), hboneServerWorkload());
    OutboundProxy proxy = outbound(HBONE_IP);
    InetSocketAddress target = proxy.localAddress();

    try (Socket s = app(target)) {
      echo(s, 100_000);
    }

    HboneRequest req = connects.poll(5, TimeUnit.SECONDS);
    assertThat(req).isNotNull();
    assertThat(req.peerIdentity()).isEqualTo(CLIENT_ID);
    assertThat(req.authority().toString()).isEqualTo(HBONE_IP + ":" + target.getPort());

    RecordingTelemetry.Closed closed = awaitClosed();
    ConnectionFacts f = closed.facts();
    assertThat(f.reporter()).isEqualTo(Reporter.SOURCE);
    assertThat(f.securityPolicy()).isEqualTo(SecurityPolicy.MUTUAL_TLS);
    assertThat(f.destination()).isEqualTo(serverZtunnel.localAddress());
    assertThat(f.hboneAuthority()).contains(HBONE_IP + ":" + target.getPort());
    assertThat(f.sourceIdentity()).contains(CLIENT_ID);
    assertThat(f.destinationIdentity()).contains(SERVER_ID);
    assertThat(f.destinationWorkload().map(w -> w.name())).contains("server");
    assertThat(f.source().getAddress()).isEqualTo(ip(APP_IP));
    assertThat(closed.clientToServer()).isEqualTo(100_000);
    assertThat(closed.serverToClient()).isEqualTo(100_000);
    assertThat(closed.flag()).isEqualTo(ResponseFlag.NONE);
    assertThat(closed.error()).isNull();
    Await.untilAsserted(Duration.ofSeconds(5), () -> {
      assertThat(telemetry.socketsOpened).hasValue(1);
      assertThat(telemetry.socketsClosed).hasValue(1);
      assertThat(telemetry.socketReporters).containsExactly(Reporter.SOURCE);
    });
    assertThat(telemetry.failed).isEmpty();
  }

  @Test
  void hbone_connectCarriesBaggageForwardedAndTraceparent() throws Exception {
    xds(client(), hboneServerWorkload());
    OutboundProxy proxy = outbound(HBONE_IP);
    int appPort;
    try (Socket s = app(proxy.localAddress())) {
      appPort = s.getLocalPort();
      echo(s, 10);
    }
    HboneRequest req = connects.poll(5, TimeUnit.SECONDS);
    assertThat(req).isNotNull();
    assertThat(req.header("baggage")).contains(
        "k8s.cluster.name=Kubernetes,k8s.namespace.name=default,k8s.deployment.name=client,service.name=client,service.version=v1");
    assertThat(req.header("forwarded")).contains("for=\"" + APP_IP + ":" + appPort + "\"");
    assertThat(req.header("traceparent")).hasValueSatisfying(
        t -> assertThat(t).hasSize(55).matches("00-[0-9a-f]{32}-[0-9a-f]{16}-00"));
  }

  @Test
  void hbone_serverWithWrongIdentity_clientResetAndTlsFailureReported() throws Exception {
    serverZtunnel.close();
    serverZtunnel = hboneServer(SpiffeId.of("cluster.local", "default", "impostor"));
    xds(client(), hboneServerWorkload());
    OutboundProxy proxy = outbound(HBONE_IP);

    try (Socket s = app(proxy.localAddress())) {
      s.getOutputStream().write(1);
      assertReset(s);
    }
    RecordingTelemetry.Closed closed = awaitClosed();
    assertThat(closed.flag()).isEqualTo(ResponseFlag.TLS_FAILURE);
    assertThat(closed.error()).contains("TLS");
    assertThat(closed.clientToServer()).isZero();
    assertThat(connects).isEmpty();
  }

  @Test
  void hbone_connectRefusedWithStatus_clientResetAndConnectFlagWithStatus() throws Exception {
    refuseWith = 401;
    xds(client(), hboneServerWorkload());
    OutboundProxy proxy = outbound(HBONE_IP);

    try (Socket s = app(proxy.localAddress())) {
      assertReset(s);
    }
    RecordingTelemetry.Closed closed = awaitClosed();
    assertThat(closed.flag()).isEqualTo(ResponseFlag.CONNECT);
    assertThat(closed.error()).contains("401");
    assertThat(closed.facts().securityPolicy()).isEqualTo(SecurityPolicy.MUTUAL_TLS);
  }

  @Test
  void vip_loadBalancedToHboneEndpoint_withServiceHostInForwarded() throws Exception {
    OutboundProxy proxy = outbound("127.10.0.1");
    int servicePort = proxy.localAddress().getPort();
    xds(client(), service("svc").vip("127.10.0.1").port(servicePort, 8080).build(),
        hboneServerWorkload(new Port(servicePort, 8080)));

    try (Socket s = app(proxy.localAddress())) {
      echo(s, 5_000);
    }
    HboneRequest req = connects.poll(5, TimeUnit.SECONDS);
    assertThat(req).isNotNull();
    assertThat(req.authority().toString()).isEqualTo(HBONE_IP + ":8080");
    assertThat(req.header("forwarded").orElseThrow()).endsWith(";host=svc.default.svc.cluster.local");
    RecordingTelemetry.Closed closed = awaitClosed();
    assertThat(closed.facts().destinationService().map(svc -> svc.hostname())).contains("svc.default.svc.cluster.local");
    assertThat(closed.clientToServer()).isEqualTo(5_000);
  }

  // --- double HBONE (spec §4.7) ---

  private static final String GATEWAY_IP = "127.0.0.7";
  private static final String REMOTE_ZTUNNEL_IP = "127.0.0.8";
  private static final String REMOTE_VIP = "127.10.0.7";
  private static final String REMOTE_HOST = "svc.default.svc.cluster.local";
  private static final SpiffeId GATEWAY_ID = SpiffeId.of("cluster.local", "istio-system", "ewgw");
  private static final SpiffeId REMOTE_ID = SpiffeId.of("cluster.local", "default", "remote");

  /**
   * A network with a gateway and a remote ztunnel: the gateway ({@code gatewayId}) accepts the
   * outer CONNECT and relays its bytes, unopened, to the remote ztunnel's HBONE port; the remote
   * ztunnel ({@code remoteId}) records the inner CONNECT and dials the pod application. Returns the
   * outbound listener on the service VIP, with the client on network net1 and the service's
   * endpoint on net2 behind the gateway.
   */
  private OutboundProxy remoteNetwork(SpiffeId gatewayId, SpiffeId remoteId, BlockingQueue<HboneRequest> outer) {
    return remoteNetwork(gatewayId, remoteId, outer, options(), false);
  }

  /** As above; with {@code remoteHangs} the remote ztunnel never answers the inner CONNECT. */
  private OutboundProxy remoteNetwork(SpiffeId gatewayId, SpiffeId remoteId, BlockingQueue<HboneRequest> outer,
      OutboundProxy.Options options, boolean remoteHangs) {
    HboneServer remote = HboneServer.builder().transport(TRANSPORT).eventLoopGroup(group)
        .tls(TestCertificates.tls(ca, remoteId))
        .bind(new InetSocketAddress(ip(REMOTE_ZTUNNEL_IP), 0))
        .handler(req -> {
          connects.add(req);
          return remoteHangs ? new CompletableFuture<HboneDecision>() : CompletableFuture.completedFuture(
              HboneDecision.accept(UpstreamConnector.tcp(podApp.address(), TRANSPORT, Duration.ofSeconds(5))));
        })
        .start();
    closeables.add(remote);
    HboneServer gateway = HboneServer.builder().transport(TRANSPORT).eventLoopGroup(group)
        .tls(TestCertificates.tls(ca, gatewayId))
        .bind(new InetSocketAddress(ip(GATEWAY_IP), 0))
        .handler(req -> {
          outer.add(req);
          return CompletableFuture.completedFuture(HboneDecision.accept(
              UpstreamConnector.tcp(remote.localAddress(), TRANSPORT, Duration.ofSeconds(5))));
        })
        .start();
    closeables.add(gateway);
    OutboundProxy proxy = outbound(REMOTE_VIP, options);
    int servicePort = proxy.localAddress().getPort();
    xds(workload("client").ip(APP_IP).network("net1").build(),
        service("svc").vip("net1", REMOTE_VIP).port(servicePort, 8080).san(REMOTE_ID.toString()).build(),
        workload("ewgw").namespace("istio-system").sa("ewgw").network("net2").ip(GATEWAY_IP).build(),
        workload("remote").sa("remote").network("net2").ip("198.18.7.1")
            .gateway(gwAddr("net2", GATEWAY_IP, gateway.localAddress().getPort()))
            .in(SVC, new Port(servicePort, 8080)).build());
    return proxy;
  }

  @Test
  void doubleHbone_innerTunnelThroughTheGateway_echoes_andCarriesHostnameAuthorityAndNetwork() throws Exception {
    BlockingQueue<HboneRequest> outer = new LinkedBlockingQueue<>();
    OutboundProxy proxy = remoteNetwork(GATEWAY_ID, REMOTE_ID, outer);
    String authority = REMOTE_HOST + ":" + proxy.localAddress().getPort();

    try (Socket s = app(proxy.localAddress())) {
      s.getOutputStream().write("ping".getBytes());
      assertThat(s.getInputStream().readNBytes(4)).asString().isEqualTo("ping");
      assertThat(proxy.connections()).singleElement().satisfies(c -> {
        assertThat(c.protocol()).isEqualTo(OutboundConnection.Protocol.DOUBLEHBONE);
        assertThat(c.actualDestination().getAddress()).isEqualTo(ip(GATEWAY_IP));
        assertThat(c.originalDestination()).isEqualTo(proxy.localAddress());
      });
      echo(s, 200_000);
    }

    HboneRequest o = outer.poll(5, TimeUnit.SECONDS);
    assertThat(o).as("outer CONNECT at the gateway").isNotNull();
    assertThat(o.authority().toString()).isEqualTo(authority);
    assertThat(o.peerIdentity()).isEqualTo(CLIENT_ID);
    assertThat(o.header("x-forwarded-network")).isEmpty();
    HboneRequest inner = connects.poll(5, TimeUnit.SECONDS);
    assertThat(inner).as("inner CONNECT at the remote ztunnel").isNotNull();
    assertThat(inner.authority().toString()).isEqualTo(authority);
    assertThat(inner.peerIdentity()).as("the source workload's certificate, end to end").isEqualTo(CLIENT_ID);
    assertThat(inner.header("x-forwarded-network")).contains("net1");
    assertThat(inner.header("forwarded").orElseThrow()).endsWith(";host=" + REMOTE_HOST);
    assertThat(inner.header("baggage").orElseThrow()).contains("k8s.deployment.name=client");

    RecordingTelemetry.Closed closed = awaitClosed();
    ConnectionFacts f = closed.facts();
    assertThat(f.reporter()).isEqualTo(Reporter.SOURCE);
    assertThat(f.destination().getAddress()).isEqualTo(ip(GATEWAY_IP));
    assertThat(f.securityPolicy()).isEqualTo(SecurityPolicy.MUTUAL_TLS);
    assertThat(f.destinationService().map(svc -> svc.hostname())).contains(REMOTE_HOST);
    assertThat(f.destinationWorkload().map(w -> w.name())).contains("remote");
    assertThat(closed.clientToServer()).isEqualTo(200_004);
    assertThat(closed.serverToClient()).isEqualTo(200_004);
    assertThat(closed.flag()).isEqualTo(ResponseFlag.NONE);
    assertThat(closed.error()).isNull();
    Await.until(Duration.ofSeconds(5), () -> proxy.connections().isEmpty());
  }

  @Test
  void doubleHbone_remoteWithWrongInnerIdentity_clientResetAndTlsFailure() throws Exception {
    BlockingQueue<HboneRequest> outer = new LinkedBlockingQueue<>();
    OutboundProxy proxy = remoteNetwork(GATEWAY_ID, SpiffeId.of("cluster.local", "default", "impostor"), outer);

    try (Socket s = app(proxy.localAddress())) {
      s.getOutputStream().write(1);
      assertReset(s);
    }
    RecordingTelemetry.Closed closed = awaitClosed();
    assertThat(closed.flag()).isEqualTo(ResponseFlag.TLS_FAILURE);
    assertThat(closed.error()).contains("inner HBONE");
    assertThat(outer.poll(5, TimeUnit.SECONDS)).as("the outer tunnel was up").isNotNull();
    assertThat(connects).as("no inner CONNECT reached the impostor").isEmpty();
  }

  @Test
  void doubleHbone_gatewayWithWrongIdentity_clientResetAndTlsFailure() throws Exception {
    BlockingQueue<HboneRequest> outer = new LinkedBlockingQueue<>();
    OutboundProxy proxy = remoteNetwork(SpiffeId.of("cluster.local", "istio-system", "impostor"), REMOTE_ID, outer);

    try (Socket s = app(proxy.localAddress())) {
      s.getOutputStream().write(1);
      assertReset(s);
    }
    RecordingTelemetry.Closed closed = awaitClosed();
    assertThat(closed.flag()).isEqualTo(ResponseFlag.TLS_FAILURE);
    assertThat(closed.error()).doesNotContain("inner HBONE");
    assertThat(outer).isEmpty();
    assertThat(connects).isEmpty();
  }

  @Test
  void doubleHbone_toARealInboundZtunnel_acceptedAsComingThroughTheGateway() throws Exception {
    // The remote network's ztunnel is the real inbound listener (dedicated mode: on the pod's own
    // address) serving workload "remote" on net2; the gateway relays the outer stream's bytes to it.
    RecordingTelemetry remoteTelemetry = new RecordingTelemetry();
    ZtunnelConfig remoteConfig = ZtunnelConfig.fromEnvironment(Map.of("PROXY_MODE", "dedicated",
        "PROXY_WORKLOAD_INFO", "default/remote/remote", "NETWORK", "net2"), 2);
    ProxyInputs remoteInputs = new ProxyInputs(remoteConfig, remoteConfig.workloadInfo().orElseThrow(), state,
        () -> PolicyIndex.EMPTY, Authorizer.create(), new LiveConnections(Authorizer.create(), r -> {}),
        new TestCertificates(ca), PLAIN_SOCKETS, remoteTelemetry, TRANSPORT, group);
    dev.ambient.ztunnel.proxy.inbound.InboundProxy remote =
        dev.ambient.ztunnel.proxy.inbound.InboundProxy.bind(remoteInputs, new InetSocketAddress(ip(POD_APP_IP), 0));
    closeables.add(remote);
    HboneServer gateway = HboneServer.builder().transport(TRANSPORT).eventLoopGroup(group)
        .tls(TestCertificates.tls(ca, GATEWAY_ID))
        .bind(new InetSocketAddress(ip(GATEWAY_IP), 0))
        .handler(req -> CompletableFuture.completedFuture(HboneDecision.accept(
            UpstreamConnector.tcp(remote.localAddress(), TRANSPORT, Duration.ofSeconds(5)))))
        .start();
    closeables.add(gateway);
    OutboundProxy proxy = outbound(REMOTE_VIP);
    int servicePort = proxy.localAddress().getPort();
    xds(workload("client").ip(APP_IP).network("net1").build(),
        service("svc").vip("net1", REMOTE_VIP).port(servicePort, podApp.address().getPort())
            .san(REMOTE_ID.toString()).build(),
        workload("ewgw").namespace("istio-system").sa("ewgw").network("net2").ip(GATEWAY_IP).build(),
        workload("remote").sa("remote").network("net2").ip(POD_APP_IP)
            .gateway(gwAddr("net2", GATEWAY_IP, gateway.localAddress().getPort()))
            .in(SVC, new Port(servicePort, podApp.address().getPort())).build());

    try (Socket s = app(proxy.localAddress())) {
      echo(s, 50_000);
    }
    RecordingTelemetry.Closed source = awaitClosed();
    assertThat(source.flag()).isEqualTo(ResponseFlag.NONE);
    assertThat(source.clientToServer()).isEqualTo(50_000);
    Await.until(Duration.ofSeconds(10), () -> !remoteTelemetry.closed.isEmpty());
    RecordingTelemetry.Closed destination = remoteTelemetry.closed.getFirst();
    ConnectionFacts f = destination.facts();
    assertThat(f.reporter()).isEqualTo(Reporter.DESTINATION);
    assertThat(f.sourceIdentity()).contains(CLIENT_ID);
    assertThat(f.sourceWorkload()).as("another network: not looked up").isEmpty();
    assertThat(f.sourceBaggage()).containsEntry("k8s.deployment.name", "client");
    assertThat(f.destinationService().map(svc -> svc.hostname())).contains(REMOTE_HOST);
    assertThat(f.destination()).isEqualTo(podApp.address());
    assertThat(destination.clientToServer()).isEqualTo(50_000);
  }

  @Test
  void doubleHbone_innerConnectUnanswered_clientResetAfterTheConnectTimeout() throws Exception {
    OutboundProxy.Options shortTimeout = new OutboundProxy.Options(serverZtunnel.localAddress().getPort(),
        OutboundProxy.Options.defaults().sourceWait(), Duration.ofMillis(500));
    OutboundProxy proxy = remoteNetwork(GATEWAY_ID, REMOTE_ID, new LinkedBlockingQueue<>(), shortTimeout, true);

    try (Socket s = app(proxy.localAddress())) {
      s.getOutputStream().write(1);
      assertReset(s);
    }
    RecordingTelemetry.Closed closed = awaitClosed();
    assertThat(connects).as("the inner CONNECT arrived").hasSize(1);
    assertThat(closed.flag()).isEqualTo(ResponseFlag.CONNECT);
    assertThat(closed.error()).contains("no answer within 500 ms");
  }

  @Test
  void doubleHbone_drainDeadlineWhileTheInnerConnectIsPending_endsTheSetUpAtOnce() throws Exception {
    OutboundProxy proxy = remoteNetwork(GATEWAY_ID, REMOTE_ID, new LinkedBlockingQueue<>(), options(), true);

    try (Socket s = app(proxy.localAddress())) {
      s.getOutputStream().write(1);
      Await.until(Duration.ofSeconds(5), () -> !connects.isEmpty());
      long start = System.nanoTime();
      proxy.drain(Duration.ofMillis(100)).get(5, TimeUnit.SECONDS);
      RecordingTelemetry.Closed closed = awaitClosed();
      assertThat(Duration.ofNanos(System.nanoTime() - start)).as("not the 10 s connect timeout")
          .isLessThan(Duration.ofSeconds(5));
      assertThat(closed.flag()).isEqualTo(ResponseFlag.NONE);
      assertThat(closed.error()).contains("client closed");
      assertReset(s); // closed with the application's byte unread
    }
    Await.until(Duration.ofSeconds(5), () -> proxy.connections().isEmpty());
    assertThat(proxy.connections()).isEmpty();
  }

  // --- rejections ---

  @Test
  void serviceWithoutEndpoints_rejected() throws Exception {
    OutboundProxy proxy = outbound("127.10.0.2");
    int port = proxy.localAddress().getPort();
    xds(client(), service("empty").vip("127.10.0.2").port(port, 8080).build());

    assertConnectionReset(proxy.localAddress());
    Await.until(Duration.ofSeconds(5), () -> !telemetry.failed.isEmpty());
    RecordingTelemetry.Failed failed = telemetry.failed.getFirst();
    assertThat(failed.error()).startsWith("no_healthy_upstream");
    assertThat(failed.destination()).isEqualTo(new InetSocketAddress(ip("127.10.0.2"), port));
    assertThat(telemetry.opened).isEmpty();
    assertThat(proxy.connections()).isEmpty();
  }

  @Test
  void unknownSourceWorkload_rejectedAfterTheWait() throws Exception {
    xds(hboneServerWorkload());
    OutboundProxy proxy = outbound(HBONE_IP, options().withSourceWait(Duration.ofMillis(300)));

    long start = System.nanoTime();
    try (Socket s = app(proxy.localAddress())) {
      assertReset(s);
    }
    assertThat(Duration.ofNanos(System.nanoTime() - start)).isGreaterThanOrEqualTo(Duration.ofMillis(250));
    Await.until(Duration.ofSeconds(5), () -> !telemetry.failed.isEmpty());
    assertThat(telemetry.failed.getFirst().error()).startsWith("unknown source workload");
    assertThat(connects).isEmpty();
  }

  @Test
  void sourceWorkloadArrivingDuringTheWait_connectionProceeds() throws Exception {
    xds(hboneServerWorkload());
    OutboundProxy proxy = outbound(HBONE_IP, options().withSourceWait(Duration.ofSeconds(5)));
    try (Socket s = app(proxy.localAddress())) {
      Thread.sleep(100);
      xds(client());
      echo(s, 1_000);
    }
    assertThat(awaitClosed().flag()).isEqualTo(ResponseFlag.NONE);
  }

  // --- plain TCP, through SOCKS5 ---

  @Test
  void tcpWorkload_directThroughSocks5() throws Exception {
    try (EchoServer tcpApp = new EchoServer(group, TRANSPORT, new InetSocketAddress(ip(TCP_IP), 0))) {
      xds(client(), workload("tcp-server").tcp().ip(TCP_IP).build());
      Socks5Proxy socks = socks();
      try (Socket s = app(socks.localAddress())) {
        Socks5Client.connect(s, tcpApp.address());
        echo(s, 20_000);
      }
      RecordingTelemetry.Closed closed = awaitClosed();
      assertThat(closed.facts().destination()).isEqualTo(tcpApp.address());
      assertThat(closed.facts().destinationWorkload().map(w -> w.name())).contains("tcp-server");
      assertThat(closed.facts().securityPolicy()).isEqualTo(SecurityPolicy.UNKNOWN);
      assertThat(closed.facts().sourceIdentity()).isEmpty();
      assertThat(closed.clientToServer()).isEqualTo(20_000);
      assertThat(closed.serverToClient()).isEqualTo(20_000);
      assertThat(connects).isEmpty();
    }
  }

  @Test
  void tcpDirect_halfClose_otherDirectionKeepsFlowing() throws Exception {
    try (java.net.ServerSocket upstream = new java.net.ServerSocket(0, 1, ip(TCP_IP))) {
      xds(client(), workload("tcp-server").tcp().ip(TCP_IP).build());
      Socks5Proxy socks = socks();
      try (Socket s = app(socks.localAddress())) {
        Socks5Client.connect(s, (InetSocketAddress) upstream.getLocalSocketAddress());
        s.getOutputStream().write("request".getBytes());
        s.shutdownOutput();
        try (Socket up = upstream.accept()) {
          up.setSoTimeout(10_000);
          assertThat(up.getInputStream().readAllBytes()).asString().isEqualTo("request"); // FIN arrived
          up.getOutputStream().write("late answer".getBytes());
        }
        assertThat(s.getInputStream().readAllBytes()).asString().isEqualTo("late answer");
      }
      RecordingTelemetry.Closed closed = awaitClosed();
      assertThat(closed.clientToServer()).isEqualTo(7);
      assertThat(closed.serverToClient()).isEqualTo(11);
      assertThat(closed.error()).isNull();
    }
  }

  @Test
  void tcpDirect_clientReset_resetsUpstream() throws Exception {
    try (java.net.ServerSocket upstream = new java.net.ServerSocket(0, 1, ip(TCP_IP))) {
      xds(client(), workload("tcp-server").tcp().ip(TCP_IP).build());
      Socks5Proxy socks = socks();
      Socket s = app(socks.localAddress());
      Socks5Client.connect(s, (InetSocketAddress) upstream.getLocalSocketAddress());
      try (Socket up = upstream.accept()) {
        up.setSoTimeout(10_000);
        s.getOutputStream().write(1);
        assertThat(up.getInputStream().read()).isEqualTo(1);
        s.setSoLinger(true, 0);
        s.close(); // RST
        assertThatThrownBy(() -> up.getInputStream().read())
            .isInstanceOf(SocketException.class).hasMessageContaining("reset");
      }
      assertThat(awaitClosed().clientToServer()).isEqualTo(1);
    }
  }

  @Test
  void unknownAddress_passthroughThroughSocks5() throws Exception {
    try (EchoServer other = new EchoServer(group, TRANSPORT, new InetSocketAddress(ip(UNKNOWN_IP), 0))) {
      xds(client());
      Socks5Proxy socks = socks();
      try (Socket s = app(socks.localAddress())) {
        Socks5Client.connect(s, other.address());
        echo(s, 3_000);
      }
      RecordingTelemetry.Closed closed = awaitClosed();
      assertThat(closed.facts().destination()).isEqualTo(other.address());
      assertThat(closed.facts().destinationWorkload()).isEmpty();
      assertThat(closed.facts().securityPolicy()).isEqualTo(SecurityPolicy.UNKNOWN);
      assertThat(closed.clientToServer()).isEqualTo(3_000);
    }
  }

  @Test
  void passthroughToClosedPort_clientResetAndConnectFlag() throws Exception {
    xds(client());
    Socks5Proxy socks = socks();
    InetSocketAddress nothing;
    try (java.net.ServerSocket probe = new java.net.ServerSocket(0, 1, ip(UNKNOWN_IP))) {
      nothing = new InetSocketAddress(ip(UNKNOWN_IP), probe.getLocalPort());
    }
    try (Socket s = app(socks.localAddress())) {
      Socks5Client.connect(s, nothing);
      assertReset(s);
    }
    RecordingTelemetry.Closed closed = awaitClosed();
    assertThat(closed.flag()).isEqualTo(ResponseFlag.CONNECT);
    assertThat(closed.error()).contains("connect to");
  }

  // --- drain ---

  @Test
  void drain_closesTheListener_waitsForTheLiveConnection_andListsIt() throws Exception {
    xds(client(), hboneServerWorkload());
    OutboundProxy proxy = outbound(HBONE_IP);
    InetSocketAddress listener = proxy.localAddress();
    try (Socket s = app(listener)) {
      s.getOutputStream().write(new byte[] {1, 2, 3});
      byte[] got = s.getInputStream().readNBytes(3);
      assertThat(got).containsExactly(1, 2, 3);
      assertThat(proxy.connections()).singleElement().satisfies(c -> {
        assertThat(c.protocol()).isEqualTo(OutboundConnection.Protocol.HBONE);
        assertThat(c.originalDestination()).isEqualTo(listener);
        assertThat(c.actualDestination()).isEqualTo(serverZtunnel.localAddress());
        assertThat(c.source()).isEqualTo(s.getLocalSocketAddress());
      });

      CompletableFuture<Void> drained = proxy.drain(Duration.ofSeconds(20));
      assertThatThrownBy(() -> app(listener)).isInstanceOf(ConnectException.class);
      Thread.sleep(200);
      assertThat(drained).isNotDone();
      // The live connection still works while draining.
      s.getOutputStream().write(4);
      assertThat(s.getInputStream().read()).isEqualTo(4);
      s.shutdownOutput();
      assertThat(s.getInputStream().readAllBytes()).isEmpty();
      drained.get(10, TimeUnit.SECONDS);
    }
    assertThat(proxy.activeConnections()).isZero();
    Await.until(Duration.ofSeconds(5), () -> proxy.connections().isEmpty());
  }

  @Test
  void drain_deadline_forceClosesWhatIsLeft() throws Exception {
    xds(client(), hboneServerWorkload());
    OutboundProxy proxy = outbound(HBONE_IP);
    try (Socket s = app(proxy.localAddress())) {
      s.getOutputStream().write(7);
      assertThat(s.getInputStream().read()).isEqualTo(7);
      long start = System.nanoTime();
      proxy.drain(Duration.ofMillis(300)).get(10, TimeUnit.SECONDS);
      assertThat(Duration.ofNanos(System.nanoTime() - start)).isGreaterThanOrEqualTo(Duration.ofMillis(250));
      assertThat(proxy.activeConnections()).isZero();
      int r;
      try {
        r = s.getInputStream().read();
      } catch (SocketException e) {
        r = -1;
      }
      assertThat(r).isEqualTo(-1);
    }
    assertThat(awaitClosed().facts().destinationWorkload()).isPresent();
  }
}
