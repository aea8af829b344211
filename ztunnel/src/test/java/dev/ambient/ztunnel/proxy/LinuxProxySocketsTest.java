package dev.ambient.ztunnel.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ambient.net.LinuxSockets;
import dev.ambient.net.Transport;
import dev.ambient.ztunnel.ZtunnelConfig;
import dev.ambient.ztunnel.ZtunnelConfig.OrigSrc;
import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.epoll.EpollChannelOption;
import io.netty.channel.uring.IoUringChannelOption;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Socket options of the proxy (spec §5.0) on real loopback sockets of each native transport. Needs
 * root (SO_MARK, IP_TRANSPARENT); never skips.
 */
@Tag("netns")
class LinuxProxySocketsTest {
  private static final int MARK = 0x539;
  private static final ZtunnelConfig.Keepalive KEEPALIVE =
      new ZtunnelConfig.Keepalive(true, Duration.ofSeconds(61), Duration.ofSeconds(7), 4, false);

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

  private EventLoopGroup group(Transport t) {
    assertThat(t.isAvailable()).as("%s: %s", t, t.unavailabilityCause()).isTrue();
    EventLoopGroup g = t.newEventLoopGroup(1, "proxy-sockets-test");
    closeables.add(() -> g.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly());
    return g;
  }

  private ServerSocket target() throws IOException {
    ServerSocket s = new ServerSocket(0, 10, InetAddress.getLoopbackAddress());
    closeables.add(s);
    return s;
  }

  private Channel connect(Transport t, Sockets sockets, InetAddress spoof, ServerSocket to, AtomicBoolean handlerRan) {
    Bootstrap b = new Bootstrap().group(group(t)).channel(t.socketChannel())
        .handler(new ChannelInitializer<Channel>() {
          @Override
          protected void initChannel(Channel ch) {
            handlerRan.set(true);
          }
        });
    sockets.outgoing(spoof).accept(b);
    Channel ch = b.connect(to.getLocalSocketAddress()).syncUninterruptibly().channel();
    closeables.add(() -> ch.close().syncUninterruptibly());
    return ch;
  }

  @ParameterizedTest
  @EnumSource(value = Transport.class, names = {"EPOLL", "IO_URING"})
  void outgoing_carriesMarkNodelayAndKeepalive_andKeepsTheBootstrapHandler(Transport t) throws Exception {
    LinuxProxySockets sockets = new LinuxProxySockets(t, Optional.of(MARK), OrigSrc.AUTO, KEEPALIVE);
    AtomicBoolean handlerRan = new AtomicBoolean();
    Channel ch = connect(t, sockets, null, target(), handlerRan);

    assertThat(LinuxSockets.mark(LinuxProxySockets.fd(ch))).isEqualTo(MARK);
    assertThat(ch.config().getOption(ChannelOption.TCP_NODELAY)).isTrue();
    assertThat(ch.config().getOption(ChannelOption.SO_KEEPALIVE)).isTrue();
    if (t == Transport.EPOLL) {
      assertThat(ch.config().getOption(EpollChannelOption.TCP_KEEPIDLE)).isEqualTo(61);
      assertThat(ch.config().getOption(EpollChannelOption.TCP_KEEPINTVL)).isEqualTo(7);
      assertThat(ch.config().getOption(EpollChannelOption.TCP_KEEPCNT)).isEqualTo(4);
    } else {
      assertThat(ch.config().getOption(IoUringChannelOption.TCP_KEEPIDLE)).isEqualTo(61);
      assertThat(ch.config().getOption(IoUringChannelOption.TCP_KEEPCNT)).isEqualTo(4);
    }
    assertThat(handlerRan).isTrue();
    assertThat(LinuxSockets.isTransparent(LinuxProxySockets.fd(ch), false)).as("no spoofing asked").isFalse();
  }

  @ParameterizedTest
  @EnumSource(value = Transport.class, names = {"EPOLL", "IO_URING"})
  void create_fromSharedModeConfig_marks1337(Transport t) throws Exception {
    LinuxProxySockets sockets = LinuxProxySockets.create(ZtunnelConfig.fromEnvironment(Map.of()), t);
    Channel ch = connect(t, sockets, null, target(), new AtomicBoolean());
    assertThat(LinuxSockets.mark(LinuxProxySockets.fd(ch))).isEqualTo(1337);
  }

  @ParameterizedTest
  @EnumSource(value = Transport.class, names = {"EPOLL", "IO_URING"})
  void outgoing_spoofed_bindsToTheClientAddressWithTransparentAndFreebind(Transport t) throws Exception {
    LinuxProxySockets sockets = new LinuxProxySockets(t, Optional.empty(), OrigSrc.ENABLED, KEEPALIVE);
    assertThat(sockets.transparent()).isTrue();
    InetAddress client = InetAddress.getByName("127.0.0.7");
    Channel ch = connect(t, sockets, client, target(), new AtomicBoolean());

    assertThat(((InetSocketAddress) ch.localAddress()).getAddress()).isEqualTo(client);
    assertThat(LinuxSockets.isTransparent(LinuxProxySockets.fd(ch), false)).isTrue();
    assertThat(LinuxSockets.isFreebind(LinuxProxySockets.fd(ch))).isTrue();
  }

  @ParameterizedTest
  @EnumSource(value = Transport.class, names = {"EPOLL", "IO_URING"})
  void listener_getsTransparent_unlessDisabled(Transport t) throws Exception {
    for (OrigSrc mode : OrigSrc.values()) {
      LinuxProxySockets sockets = new LinuxProxySockets(t, Optional.of(MARK), mode, KEEPALIVE);
      ServerBootstrap b = new ServerBootstrap().group(group(t)).channel(t.serverSocketChannel())
          .childHandler(new ChannelInitializer<Channel>() {
            @Override
            protected void initChannel(Channel ch) {}
          });
      sockets.listener().accept(b);
      Channel server = b.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0)).syncUninterruptibly().channel();
      closeables.add(() -> server.close().syncUninterruptibly());

      boolean expected = mode != OrigSrc.DISABLED;
      assertThat(LinuxSockets.isTransparent(LinuxProxySockets.fd(server), false)).as("%s", mode).isEqualTo(expected);
      assertThat(sockets.transparent()).as("%s", mode).isEqualTo(expected);
    }
  }
}
