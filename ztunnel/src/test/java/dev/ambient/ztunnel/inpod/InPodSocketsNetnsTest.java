package dev.ambient.ztunnel.inpod;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ambient.net.LinuxSockets;
import dev.ambient.net.LinuxSockets.NetNamespace;
import dev.ambient.net.Transport;
import dev.ambient.testing.LeakDetectionExtension;
import dev.ambient.testing.netns.NetnsTopology;
import dev.ambient.ztunnel.ZtunnelConfig;
import dev.ambient.ztunnel.proxy.LinuxProxySockets;
import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.unix.UnixChannel;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * {@link InPodSockets} on a real pod netns (198.18.47.10 behind a bridge): listeners bound through it
 * listen inside the pod, outgoing connections leave with the pod's address and the packet mark.
 * Needs root; never skips.
 */
@Tag("netns")
@ExtendWith(LeakDetectionExtension.class)
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class InPodSocketsNetnsTest {
  private static final int SUBNET = 47;

  private final List<AutoCloseable> closeables = new ArrayList<>();

  @BeforeAll
  static void needsRoot() throws IOException, InterruptedException {
    Process p = new ProcessBuilder("id", "-u").start();
    String uid = new String(p.getInputStream().readAllBytes()).strip();
    p.waitFor();
    assertThat(uid).as("netns tests need root (exclude with -DexcludedGroups=netns)").isEqualTo("0");
  }

  @AfterEach
  void cleanUp() throws Exception {
    for (int i = closeables.size() - 1; i >= 0; i--) {
      closeables.get(i).close();
    }
  }

  private <T extends AutoCloseable> T closeLater(T c) {
    closeables.add(c);
    return c;
  }

  private InPodSockets podSockets(Transport t, NetNamespace ns, boolean portReuse) {
    LinuxProxySockets base = LinuxProxySockets.create(ZtunnelConfig.fromEnvironment(Map.of("PROXY_MODE", "shared")), t);
    return new InPodSockets(base, t, ns, portReuse);
  }

  private Channel listen(Transport t, EventLoopGroup g, InPodSockets sockets, int port) {
    ServerBootstrap b = new ServerBootstrap().group(g).channel(t.serverSocketChannel())
        .childHandler(new ChannelInboundHandlerAdapter());
    sockets.listener().accept(b);
    Channel ch = b.bind(new InetSocketAddress(port)).syncUninterruptibly().channel();
    closeables.add(() -> ch.close().syncUninterruptibly());
    return ch;
  }

  @ParameterizedTest
  @EnumSource(value = Transport.class, names = {"EPOLL", "IO_URING"})
  void listenerIsInThePodNetns_andOutgoingConnectionsLeaveFromIt(Transport t) throws Exception {
    NetnsTopology net = closeLater(NetnsTopology.create(NetnsTopology.uniquePrefix("zip"), 1, SUBNET));
    NetNamespace ns = closeLater(NetNamespace.open(net.netnsPath(0)));
    EventLoopGroup g = t.newEventLoopGroup(1, "inpod-sockets-test");
    closeables.add(() -> g.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly());
    InPodSockets sockets = podSockets(t, ns, true);

    // Listener: bound on the wildcard address inside the pod netns (a port nothing else on the
    // machine uses, so the root netns check below means something while other tests run).
    int port = 15108;
    listen(t, g, sockets, port);
    assertThat(net.exec(0, "ss", "-ltnH", "sport = :" + port)).as("listening in the pod").contains(":" + port);
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress(net.nodeAddress(0), port), 2000);
      assertThat(s.isConnected()).as("reachable on the pod's address").isTrue();
    }
    String rootListeners = new String(new ProcessBuilder("ss", "-ltnH", "sport = :" + port).start()
        .getInputStream().readAllBytes());
    assertThat(rootListeners).as("nothing listens on %d in the root netns", port).doesNotContain(":" + port);

    // Outgoing: leaves from the pod's address, with the packet mark.
    try (ServerSocket target = new ServerSocket(0, 10, InetAddress.getByName(net.bridgeAddress()))) {
      Bootstrap b = new Bootstrap().group(g).channel(t.socketChannel()).handler(new ChannelInboundHandlerAdapter());
      sockets.outgoing(null).accept(b);
      Channel out = b.connect(target.getLocalSocketAddress()).syncUninterruptibly().channel();
      closeables.add(() -> out.close().syncUninterruptibly());
      try (Socket accepted = target.accept()) {
        assertThat(accepted.getInetAddress().getHostAddress()).isEqualTo(net.nodeAddress(0));
        assertThat(LinuxSockets.mark(((UnixChannel) out).fd().intValue())).isEqualTo(1337);
      }
    }
  }

  @ParameterizedTest
  @EnumSource(value = Transport.class, names = {"EPOLL", "IO_URING"})
  void portReuse_letsASecondListenerBindTheSamePort_withoutItTheBindFails(Transport t) throws Exception {
    NetnsTopology net = closeLater(NetnsTopology.create(NetnsTopology.uniquePrefix("zip"), 1, SUBNET));
    NetNamespace ns = closeLater(NetNamespace.open(net.netnsPath(0)));
    EventLoopGroup g = t.newEventLoopGroup(1, "inpod-sockets-test");
    closeables.add(() -> g.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly());

    InPodSockets reuse = podSockets(t, ns, true);
    listen(t, g, reuse, 15001);
    listen(t, g, reuse, 15001);
    assertThat(net.exec(0, "ss", "-ltnH", "sport = :15001").lines().count()).isEqualTo(2);

    InPodSockets exclusive = podSockets(t, ns, false);
    listen(t, g, exclusive, 15006);
    ServerBootstrap b = new ServerBootstrap().group(g).channel(t.serverSocketChannel())
        .childHandler(new ChannelInboundHandlerAdapter());
    exclusive.listener().accept(b);
    var second = b.bind(new InetSocketAddress(15006)).awaitUninterruptibly();
    assertThat(second.isSuccess()).as("INPOD_PORT_REUSE=false: the port is taken").isFalse();
  }
}
