package dev.ambient.testing.netns;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** {@link NetnsTopology} for real (root only; never skips). Each test uses its own prefix and subnet. */
@Tag("netns")
class NetnsTopologyTest {
  private static final String PYTHON = "/usr/bin/python3";
  /** Echoes the peer's address to the first client, then exits. */
  private static final String ECHO_PEER = "import socket,sys\n"
      + "s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
      + "s.bind(('0.0.0.0', int(sys.argv[1]))); s.listen()\n"
      + "c,a=s.accept(); c.sendall(a[0].encode()); c.close()\n";

  private final String prefix = NetnsTopology.uniquePrefix("tt");
  private final int subnet = ThreadLocalRandom.current().nextInt(200, 250);
  private NetnsTopology net;

  @BeforeAll
  static void needsRoot() {
    assertThat(ProcessHandle.current().info().user().orElse("?"))
        .as("netns tests need root (exclude with -DexcludedGroups=netns)").isEqualTo("root");
  }

  @AfterEach
  void cleanUp() {
    if (net != null) {
      net.close();
    }
    NetnsTopology.cleanupLeftovers(prefix);
  }

  @Test
  void nodesGetTheirAddressesAndADefaultRouteViaTheBridge() {
    net = NetnsTopology.create(prefix, 2, subnet);

    assertThat(net.nodeAddress(0)).isEqualTo("198.18." + subnet + ".10");
    assertThat(net.nodeAddress(1)).isEqualTo("198.18." + subnet + ".11");
    assertThat(net.exec(1, "ip", "-4", "-o", "addr", "show", "dev", "eth0"))
        .contains("198.18." + subnet + ".11/24");
    assertThat(net.exec(0, "ip", "route", "show", "default")).contains("via 198.18." + subnet + ".1");
    assertThat(net.exec(0, "ip", "-o", "link", "show", "lo")).contains("UP");
    assertThat(NetnsTopology.namespaces()).contains(net.netns(0), net.netns(1));
    assertThat(NetnsTopology.links()).contains(net.bridge(), net.hostVeth(0), net.hostVeth(1));
  }

  @Test
  void nodesConnectToEachOtherOverTcpWithTheirOwnAddresses() throws Exception {
    net = NetnsTopology.create(prefix, 2, subnet);

    assertThat(connectAndRead(1, 0, 18080)).isEqualTo(net.nodeAddress(0));
    assertThat(connectAndRead(0, 1, 18081)).isEqualTo(net.nodeAddress(1));
  }

  @Test
  void aNodeReachesTheRootNamespaceAtTheBridgeAddress() throws Exception {
    net = NetnsTopology.create(prefix, 1, subnet);
    try (ServerSocket server = new ServerSocket()) {
      server.bind(new InetSocketAddress(InetAddress.getByName(net.bridgeAddress()), 0));
      server.setSoTimeout(10_000);
      Thread client = Thread.ofVirtual().start(() -> net.exec(0, "bash", "-c",
          "exec 3<>/dev/tcp/" + net.bridgeAddress() + "/" + server.getLocalPort() + " && echo hi >&3"));
      try (Socket s = server.accept()) {
        assertThat(((InetSocketAddress) s.getRemoteSocketAddress()).getAddress().getHostAddress())
            .isEqualTo(net.nodeAddress(0));
      }
      client.join(10_000);
    }
  }

  @Test
  void execReportsTheExitCodeAndThrowsOnFailure() {
    net = NetnsTopology.create(prefix, 1, subnet);

    NetnsTopology.ExecResult r = net.tryExec(0, "bash", "-c", "echo out; exit 3");
    assertThat(r.exitCode()).isEqualTo(3);
    assertThat(r.output()).isEqualTo("out\n");
    assertThatThrownBy(r::check)
        .isInstanceOf(IllegalStateException.class).hasMessageContaining("exited with 3: out");
  }

  @Test
  void closeKillsProcessesAndRemovesNamespacesAndLinksAndIsIdempotent() throws Exception {
    net = NetnsTopology.create(prefix, 2, subnet);
    Process spawned = net.spawn(0, Map.of(), "sleep", "300");
    // A process the topology did not start, found through `ip netns pids`.
    net.exec(1, "bash", "-c", "setsid sleep 301 </dev/null >/dev/null 2>&1 &");
    String pids = net.exec(1, "ip", "netns", "pids", net.netns(1)).strip();
    assertThat(pids).isNotEmpty();
    long foreign = Long.parseLong(pids.split("\\s+")[0]);

    net.close();

    assertThat(spawned.waitFor(10, TimeUnit.SECONDS)).isTrue();
    assertThat(ProcessHandle.of(foreign).map(ProcessHandle::isAlive).orElse(false)).isFalse();
    assertThat(NetnsTopology.namespaces()).noneMatch(n -> n.startsWith(prefix));
    assertThat(NetnsTopology.links()).noneMatch(l -> l.startsWith(prefix));
    net.close(); // no-op
    assertThatThrownBy(() -> net.spawn(0, Map.of(), "true"))
        .isInstanceOf(IllegalStateException.class).hasMessageContaining("closed");
  }

  @Test
  void cleanupLeftoversRemovesATopologyThatWasNeverClosed() {
    NetnsTopology abandoned = NetnsTopology.create(prefix, 2, subnet);
    assertThat(NetnsTopology.namespaces()).contains(abandoned.netns(1));

    NetnsTopology.cleanupLeftovers(prefix);

    assertThat(NetnsTopology.namespaces()).noneMatch(n -> n.startsWith(prefix));
    assertThat(NetnsTopology.links()).noneMatch(l -> l.startsWith(prefix));
  }

  @Test
  void aFailedCreateRemovesWhatItHadCreated() throws Exception {
    // Node 1's namespace name is taken, so creation fails after the bridge and node 0 exist.
    new ProcessBuilder("ip", "netns", "add", prefix + "-n1").start().waitFor(10, TimeUnit.SECONDS);
    assertThat(NetnsTopology.namespaces()).contains(prefix + "-n1");

    assertThatThrownBy(() -> NetnsTopology.create(prefix, 2, subnet))
        .isInstanceOf(IllegalStateException.class).hasMessageContaining("ip netns add " + prefix + "-n1");

    assertThat(NetnsTopology.namespaces()).noneMatch(n -> n.startsWith(prefix));
    assertThat(NetnsTopology.links()).noneMatch(l -> l.startsWith(prefix));
  }

  /** Starts an echo-peer server in {@code serverNode}, connects from {@code clientNode}, returns what it echoed. */
  private String connectAndRead(int serverNode, int clientNode, int port) throws Exception {
    Process server = net.spawn(serverNode, Map.of(), PYTHON, "-c", ECHO_PEER, Integer.toString(port));
    String target = "/dev/tcp/" + net.nodeAddress(serverNode) + "/" + port;
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
    while (true) {
      NetnsTopology.ExecResult r = net.tryExec(clientNode, "bash", "-c", "exec 3<>" + target + " && cat <&3");
      if (r.exitCode() == 0) {
        assertThat(server.waitFor(10, TimeUnit.SECONDS)).isTrue();
        return r.output().strip();
      }
      assertThat(System.nanoTime()).as("connect %s: %s", target, r.output()).isLessThan(deadline);
      Thread.sleep(100);
    }
  }
}
