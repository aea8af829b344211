package dev.ambient.ztunnel.proxy.inbound;

import static dev.ambient.ztunnel.proxy.inbound.InboundHarness.CLIENT_IP;
import static dev.ambient.ztunnel.proxy.inbound.InboundHarness.POD_IP;
import static dev.ambient.ztunnel.proxy.inbound.InboundHarness.address;
import static dev.ambient.ztunnel.proxy.inbound.InboundHarness.eventually;
import static dev.ambient.ztunnel.state.Fixtures.ip;
import static dev.ambient.ztunnel.state.Fixtures.workload;
import static org.assertj.core.api.Assertions.assertThat;

import dev.ambient.testing.LeakDetectionExtension;
import dev.ambient.ztunnel.authz.LiveConnections;
import dev.ambient.ztunnel.proxy.EchoServer;
import dev.ambient.ztunnel.proxy.RecordingTelemetry;
import dev.ambient.ztunnel.telemetry.ConnectionFacts;
import dev.ambient.ztunnel.telemetry.Reporter;
import dev.ambient.ztunnel.telemetry.ResponseFlag;
import dev.ambient.ztunnel.telemetry.SecurityPolicy;
import io.netty.channel.Channel;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The plaintext inbound listener (15006) on loopback. Without iptables there is no
 * {@code SO_ORIGINAL_DST}, so the tests inject the original destination.
 */
@ExtendWith(LeakDetectionExtension.class)
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class InboundPlaintextProxyTest {
  private final InboundHarness h = new InboundHarness();
  private final List<AutoCloseable> closeables = new ArrayList<>();

  @AfterEach
  void tearDown() throws Exception {
    for (int i = closeables.size() - 1; i >= 0; i--) {
      closeables.get(i).close();
    }
    h.close();
  }

  private EchoServer echo() {
    EchoServer e = new EchoServer(h.group, InboundHarness.TRANSPORT, new InetSocketAddress(POD_IP, 0));
    closeables.add(e);
    return e;
  }

  private InboundPlaintextProxy proxy(InetSocketAddress originalDst, boolean transparent) {
    InboundPlaintextProxy p = InboundPlaintextProxy.bind(h.inputs(transparent), new InetSocketAddress(POD_IP, 0),
        new InboundPlaintextProxy.Options(Duration.ofSeconds(5), Duration.ofSeconds(1), ch -> originalDst));
    closeables.add(p);
    return p;
  }

  private static Socket connect(InboundPlaintextProxy p) throws IOException {
    Socket s = new Socket(p.localAddress().getAddress(), p.localAddress().getPort(), ip(CLIENT_IP), 0);
    s.setSoTimeout(10_000);
    return s;
  }

  /** -1 for EOF or a reset: either way the proxy closed the connection. */
  private static int readOrClosed(InputStream in) {
    try {
      return in.read();
    } catch (IOException reset) {
      return -1;
    }
  }

  @Test
  void allowed_relaysBothWaysWithHalfClose_andReportsTelemetry() throws Exception {
    h.publish(workload("server").ip(POD_IP).build());
    EchoServer echo = echo();
    InboundPlaintextProxy p = proxy(echo.address(), false);
    try (Socket s = connect(p)) {
      s.getOutputStream().write("plain".getBytes(StandardCharsets.UTF_8));
      assertThat(new String(s.getInputStream().readNBytes(5), StandardCharsets.UTF_8)).isEqualTo("plain");
      s.shutdownOutput();
      assertThat(s.getInputStream().read()).as("FIN relayed").isEqualTo(-1);
    }
    assertThat(eventually(5_000, () -> h.telemetry.closed.size() == 1)).isTrue();
    RecordingTelemetry.Closed c = h.telemetry.closed.getFirst();
    assertThat(c.flag()).isEqualTo(ResponseFlag.NONE);
    assertThat(c.error()).isNull();
    assertThat(c.clientToServer()).isEqualTo(5);
    assertThat(c.serverToClient()).isEqualTo(5);
    ConnectionFacts f = c.facts();
    assertThat(f.reporter()).isEqualTo(Reporter.DESTINATION);
    assertThat(f.securityPolicy()).isEqualTo(SecurityPolicy.UNKNOWN);
    assertThat(f.sourceIdentity()).isEmpty();
    assertThat(f.destination()).isEqualTo(echo.address());
    assertThat(eventually(2_000, () -> h.telemetry.socketsOpen.get() == 0)).isTrue();
    assertThat(h.telemetry.socketsOpened.get()).isEqualTo(1);
    assertThat(h.spoofRequests).containsExactly((java.net.InetAddress) null);
  }

  @Test
  void transparentListener_spoofsTheClientIp() throws Exception {
    h.publish(workload("server").ip(POD_IP).build());
    EchoServer echo = echo();
    InboundPlaintextProxy p = proxy(echo.address(), true);
    try (Socket s = connect(p)) {
      s.getOutputStream().write(1);
      assertThat(s.getInputStream().read()).isEqualTo(1);
    }
    assertThat(h.spoofRequests).containsExactly(ip(CLIENT_IP));
  }

  @Test
  void largeTransfer_bothWays_arrivesIntact() throws Exception {
    h.publish(workload("server").ip(POD_IP).build());
    EchoServer echo = echo();
    InboundPlaintextProxy p = proxy(echo.address(), false);
    byte[] data = new byte[4 << 20];
    new SplittableRandom(7).nextBytes(data);
    try (Socket s = connect(p)) {
      CompletableFuture<byte[]> back = CompletableFuture.supplyAsync(() -> {
        try {
          return s.getInputStream().readAllBytes();
        } catch (IOException e) {
          throw new RuntimeException(e);
        }
      });
      s.getOutputStream().write(data);
      s.shutdownOutput();
      assertThat(Arrays.equals(back.get(30, TimeUnit.SECONDS), data)).isTrue();
    }
    assertThat(eventually(5_000, () -> h.telemetry.closed.size() == 1)).isTrue();
    assertThat(h.telemetry.closed.getFirst().clientToServer()).isEqualTo(data.length);
    assertThat(h.telemetry.closed.getFirst().serverToClient()).isEqualTo(data.length);
  }

  @Test
  void denyPolicy_closesTheConnection_withFlagDeny() throws Exception {
    h.publish(workload("server").ip(POD_IP).build());
    EchoServer echo = echo();
    h.publishPolicies(Policies.index(Policies.denyAll("default")));
    InboundPlaintextProxy p = proxy(echo.address(), false);
    try (Socket s = connect(p)) {
      assertThat(readOrClosed(s.getInputStream())).isEqualTo(-1);
    }
    assertThat(eventually(2_000, () -> h.telemetry.closed.size() == 1)).isTrue();
    assertThat(h.telemetry.closed.getFirst().flag()).isEqualTo(ResponseFlag.DENY);
    assertThat(h.spoofRequests).as("never connected upstream").isEmpty();
  }

  @Test
  void principalPolicy_deniesPlaintext() throws Exception {
    h.publish(workload("server").ip(POD_IP).build());
    EchoServer echo = echo();
    h.publishPolicies(Policies.index(Policies.allowPrincipal("default", "cluster.local/ns/client-ns/sa/client-sa")));
    InboundPlaintextProxy p = proxy(echo.address(), false);
    try (Socket s = connect(p)) {
      assertThat(readOrClosed(s.getInputStream())).isEqualTo(-1);
    }
    assertThat(eventually(2_000, () -> h.telemetry.closed.size() == 1)).isTrue();
    assertThat(h.telemetry.closed.getFirst().flag()).isEqualTo(ResponseFlag.DENY);
  }

  @Test
  void illegalOriginalPort_isRefusedAsSelfCall() throws Exception {
    h.publish(workload("server").ip(POD_IP).build());
    InboundPlaintextProxy p = proxy(new InetSocketAddress(ip(POD_IP), 15008), false);
    try (Socket s = connect(p)) {
      assertThat(readOrClosed(s.getInputStream())).isEqualTo(-1);
    }
    assertThat(eventually(2_000, () -> h.telemetry.failed.size() == 1)).isTrue();
    assertThat(h.telemetry.failed.getFirst().error()).contains("self call");
    assertThat(h.telemetry.opened).isEmpty();
  }

  @Test
  void denyPolicyPublishedWhileOpen_closesTheConnection() throws Exception {
    h.publish(workload("server").ip(POD_IP).build());
    EchoServer echo = echo();
    InboundPlaintextProxy p = proxy(echo.address(), false);
    try (Socket s = connect(p)) {
      s.getOutputStream().write(7);
      assertThat(s.getInputStream().read()).isEqualTo(7);
      assertThat(eventually(2_000, () -> h.live.size() == 1)).isTrue();
      h.publishPolicies(Policies.index(Policies.denyAll("default")));
      assertThat(readOrClosed(s.getInputStream())).isEqualTo(-1);
    }
    assertThat(eventually(5_000, () -> h.telemetry.closed.size() == 1)).isTrue();
    assertThat(h.telemetry.closed.getFirst().flag()).isEqualTo(ResponseFlag.DENY);
    assertThat(h.telemetry.closed.getFirst().error()).isEqualTo(LiveConnections.CLOSE_REASON);
    assertThat(h.live.size()).isZero();
  }

  @Test
  void upstreamRefused_closesTheClient_withFlagConnect() throws Exception {
    h.publish(workload("server").ip(POD_IP).build());
    int closedPort;
    try (java.net.ServerSocket ss = new java.net.ServerSocket(0, 1, ip(POD_IP))) {
      closedPort = ss.getLocalPort();
    }
    InboundPlaintextProxy p = proxy(new InetSocketAddress(ip(POD_IP), closedPort), false);
    try (Socket s = connect(p)) {
      assertThat(readOrClosed(s.getInputStream())).isEqualTo(-1);
    }
    assertThat(eventually(2_000, () -> h.telemetry.closed.size() == 1)).isTrue();
    assertThat(h.telemetry.closed.getFirst().flag()).isEqualTo(ResponseFlag.CONNECT);
  }

  @Test
  void drain_closesOpenConnectionsAtTheDeadline() throws Exception {
    h.publish(workload("server").ip(POD_IP).build());
    EchoServer echo = echo();
    InboundPlaintextProxy p = proxy(echo.address(), false);
    try (Socket s = connect(p)) {
      s.getOutputStream().write(1);
      assertThat(s.getInputStream().read()).isEqualTo(1);
      p.drain(Duration.ofMillis(200)).get(5, TimeUnit.SECONDS);
      assertThat(readOrClosed(s.getInputStream())).isEqualTo(-1);
      assertThat(p.activeConnections()).isZero();
    }
  }
}
