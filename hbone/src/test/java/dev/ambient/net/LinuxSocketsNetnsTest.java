package dev.ambient.net;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.SocketProtocolFamily;
import java.io.IOException;
import java.net.BindException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * {@link LinuxSockets} calls that need root (CAP_NET_ADMIN, CAP_SYS_ADMIN): SO_MARK, IP_TRANSPARENT,
 * and a real iptables REDIRECT inside a throw-away network namespace. These tests never skip; run
 * without root they fail (exclude them with {@code -DexcludedGroups=netns}).
 */
@Tag("netns")
class LinuxSocketsNetnsTest {
  private static final InetAddress NS_ONLY_ADDRESS = address("198.18.250.1");
  private static final InetAddress REDIRECTED_ADDRESS = address("198.18.250.9");
  private static final int REDIRECTED_PORT = 8080;

  private final List<Channel> channels = new ArrayList<>();
  private EventLoopGroup group;
  private LinuxSockets.NetNamespace ns;
  private String nsName;

  @BeforeAll
  static void needsRootAndEpoll() throws Exception {
    assertThat(run("id", "-u").strip()).as("netns tests need root (exclude with -DexcludedGroups=netns)").isEqualTo("0");
    assertThat(Epoll.isAvailable()).as("epoll: %s", Epoll.unavailabilityCause()).isTrue();
  }

  @AfterEach
  void cleanUp() throws Exception {
    for (Channel c : channels) {
      c.close().await(5, TimeUnit.SECONDS);
    }
    if (group != null) {
      group.shutdownGracefully(0, 1, TimeUnit.SECONDS).await(5, TimeUnit.SECONDS);
    }
    if (ns != null) {
      ns.close();
    }
    if (nsName != null) {
      run("ip", "netns", "del", nsName);
      assertThat(run("ip", "netns", "list")).doesNotContain(nsName);
    }
  }

  @Test
  void mark_roundTripsOnARealSocket() throws Exception {
    EpollSocketChannel ch = new EpollSocketChannel(SocketProtocolFamily.INET);
    try {
      int fd = ch.fd().intValue();
      assertThat(LinuxSockets.mark(fd)).isZero();
      LinuxSockets.setMark(fd, 0x539);
      assertThat(LinuxSockets.mark(fd)).isEqualTo(1337);
      LinuxSockets.setMark(fd, 0xfffffff0); // the whole 32 bits
      assertThat(LinuxSockets.mark(fd)).isEqualTo(0xfffffff0);
    } finally {
      ch.unsafe().closeForcibly();
    }
  }

  @Test
  void trySetTransparent_asRoot_setsTheOptionForBothFamilies() throws Exception {
    EpollSocketChannel v4 = new EpollSocketChannel(SocketProtocolFamily.INET);
    EpollSocketChannel v6 = new EpollSocketChannel(SocketProtocolFamily.INET6);
    try {
      int fd4 = v4.fd().intValue();
      int fd6 = v6.fd().intValue();
      assertThat(LinuxSockets.isTransparent(fd4, false)).isFalse();
      assertThat(LinuxSockets.isTransparent(fd6, true)).isFalse();
      assertThat(LinuxSockets.trySetTransparent(fd4, false)).isTrue();
      assertThat(LinuxSockets.trySetTransparent(fd6, true)).isTrue();
      assertThat(LinuxSockets.isTransparent(fd4, false)).isTrue();
      assertThat(LinuxSockets.isTransparent(fd6, true)).isTrue();
    } finally {
      v4.unsafe().closeForcibly();
      v6.unsafe().closeForcibly();
    }
  }

  @Test
  void netNamespace_run_createsSocketsInThatNamespaceOnly() throws Exception {
    createNamespace();
    Object hostNs = Files.getAttribute(Path.of("/proc/thread-self/ns/net"), "unix:ino");
    Object targetNs = Files.getAttribute(Path.of("/var/run/netns", nsName), "unix:ino");
    assertThat(targetNs).isNotEqualTo(hostNs);

    assertThat(ns.run(() -> Files.getAttribute(Path.of("/proc/thread-self/ns/net"), "unix:ino"))).isEqualTo(targetNs);
    // 198.18.250.1 exists only inside the namespace: binding it works there...
    InetSocketAddress bound = ns.run(() -> {
      try (ServerSocketChannel s = ServerSocketChannel.open()) {
        s.bind(new InetSocketAddress(NS_ONLY_ADDRESS, 0));
        return (InetSocketAddress) s.getLocalAddress();
      }
    });
    assertThat(bound.getAddress()).isEqualTo(NS_ONLY_ADDRESS);
    // ...and not on this thread, which never left the host namespace.
    assertThat(Files.getAttribute(Path.of("/proc/thread-self/ns/net"), "unix:ino")).isEqualTo(hostNs);
    assertThatThrownBy(() -> {
      try (ServerSocketChannel s = ServerSocketChannel.open()) {
        s.bind(new InetSocketAddress(NS_ONLY_ADDRESS, 0));
      }
    }).isInstanceOf(BindException.class);
    // current() is the caller's own namespace.
    try (LinuxSockets.NetNamespace self = LinuxSockets.NetNamespace.current()) {
      assertThat(self.run(() -> Files.getAttribute(Path.of("/proc/thread-self/ns/net"), "unix:ino"))).isEqualTo(hostNs);
    }
    // the task's own exception comes back as is
    assertThatThrownBy(() -> ns.run(() -> {
      throw new IOException("from the task");
    })).isInstanceOf(IOException.class).hasMessage("from the task");
  }

  @Test
  void originalDestination_afterIptablesRedirectInsideTheNamespace() throws Exception {
    redirectAndCheckOriginalDestination("iptables", InetAddress.getLoopbackAddress(), REDIRECTED_ADDRESS);
  }

  /** The IP6T_SO_ORIGINAL_DST path: ip6tables REDIRECT of [::1]:8080 to the listener on [::1]. */
  @Test
  void originalDestination_afterIp6tablesRedirectInsideTheNamespace() throws Exception {
    InetAddress v6loopback = address("::1");
    redirectAndCheckOriginalDestination("ip6tables", v6loopback, v6loopback);
  }

  private void redirectAndCheckOriginalDestination(String iptables, InetAddress listenOn, InetAddress redirected)
      throws Exception {
    createNamespace();
    group = Transport.EPOLL.newEventLoopGroup(1, "netns-test");
    CompletableFuture<SocketChannel> accepted = new CompletableFuture<>();
    ServerBootstrap sb = new ServerBootstrap().group(group).channel(EpollServerSocketChannel.class)
        .childHandler(new ChannelInitializer<SocketChannel>() {
          @Override
          protected void initChannel(SocketChannel ch) {
            accepted.complete(ch);
          }
        });
    // The listener's socket is created by bind() on the namespace's thread, so it lives there.
    Channel listener = ns.run(() -> sb.bind(listenOn, 0).sync().channel());
    channels.add(listener);
    int port = ((InetSocketAddress) listener.localAddress()).getPort();
    run("ip", "netns", "exec", nsName, iptables, "-t", "nat", "-A", "OUTPUT", "-p", "tcp",
        "-d", redirected.getHostAddress(), "--dport", String.valueOf(REDIRECTED_PORT),
        "-j", "REDIRECT", "--to-ports", String.valueOf(port));

    Bootstrap b = new Bootstrap().group(group).channel(EpollSocketChannel.class)
        .handler(new ChannelInitializer<SocketChannel>() {
          @Override
          protected void initChannel(SocketChannel ch) {}
        });
    Channel client = ns.run(() -> b.connect(redirected, REDIRECTED_PORT).sync().channel());
    channels.add(client);
    SocketChannel server = accepted.get(10, TimeUnit.SECONDS);
    channels.add(server);

    // The connection was redirected to the listener...
    assertThat(((InetSocketAddress) server.localAddress())).isEqualTo(new InetSocketAddress(listenOn, port));
    assertThat(((InetSocketAddress) client.remoteAddress()).getPort()).isEqualTo(REDIRECTED_PORT);
    // ...and the original destination is read back from conntrack.
    int fd = ((EpollSocketChannel) server).fd().intValue();
    assertThat(LinuxSockets.originalDestination(fd))
        .contains(new InetSocketAddress(redirected, REDIRECTED_PORT));
    // The listening socket itself has no conntrack entry.
    assertThat(LinuxSockets.originalDestination(((EpollServerSocketChannel) listener).fd().intValue())).isEmpty();
  }

  private void createNamespace() throws Exception {
    String name = "ambient-test-" + HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextInt());
    run("ip", "netns", "add", name);
    nsName = name;
    run("ip", "-n", name, "link", "set", "lo", "up");
    // a veth pair with both ends inside the namespace (no dummy driver on every kernel here)
    run("ip", "-n", name, "link", "add", "v0", "type", "veth", "peer", "name", "v1");
    run("ip", "-n", name, "addr", "add", NS_ONLY_ADDRESS.getHostAddress() + "/32", "dev", "v0");
    run("ip", "-n", name, "link", "set", "v0", "up");
    run("ip", "-n", name, "link", "set", "v1", "up");
    run("ip", "-n", name, "route", "add", "198.18.250.0/24", "dev", "v0", "src", NS_ONLY_ADDRESS.getHostAddress());
    ns = LinuxSockets.NetNamespace.open(Path.of("/var/run/netns", name));
  }

  private static String run(String... command) throws Exception {
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(30, TimeUnit.SECONDS)).as("%s timed out", String.join(" ", command)).isTrue();
    assertThat(p.exitValue()).as("%s: %s", String.join(" ", command), out).isZero();
    return out;
  }

  private static InetAddress address(String literal) {
    try {
      return InetAddress.getByName(literal);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }
}
