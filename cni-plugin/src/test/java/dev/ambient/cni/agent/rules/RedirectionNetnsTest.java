package dev.ambient.cni.agent.rules;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ambient.net.LinuxSockets;
import dev.ambient.net.Transport;
import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.socket.SocketChannel;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.channels.ServerSocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Both backends in a real pod netns wired by a veth pair to a "peer" netns (the rest of the network):
 * the rules appear, outbound TCP is redirected to 15001 (SO_ORIGINAL_DST shows the real target),
 * ztunnel-marked sockets bypass, inbound goes to 15006, probes from 169.254.7.127 reach the app
 * directly, and removal restores the namespace exactly. Needs root; never skips.
 */
@Tag("netns")
class RedirectionNetnsTest {
  private static final InetAddress POD_IP = ip("198.18.77.2");
  private static final InetAddress PEER_IP = ip("198.18.77.9");
  private static final InetAddress POD_IP6 = ip("2001:db8:77::2");
  private static final PodAddresses POD = PodAddresses.of(POD_IP, POD_IP6);

  private final String pod = "cnir" + HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextInt()).substring(0, 6);
  private final String peer = pod + "p";
  private final List<Channel> channels = new ArrayList<>();
  private final List<AutoCloseable> closeables = new ArrayList<>();
  private EventLoopGroup group;

  static Stream<Arguments> backends() {
    return Stream.of(Arguments.of("iptables", new IptablesRedirection()), Arguments.of("nftables", new NftablesRedirection()));
  }

  @BeforeAll
  static void needsRoot() throws Exception {
    assertThat(run("id", "-u").strip()).as("netns tests need root (exclude with -DexcludedGroups=netns)").isEqualTo("0");
  }

  @AfterEach
  void cleanUp() throws Exception {
    for (Channel c : channels) {
      c.close().await(5, TimeUnit.SECONDS);
    }
    if (group != null) {
      group.shutdownGracefully(0, 1, TimeUnit.SECONDS).await(5, TimeUnit.SECONDS);
    }
    for (AutoCloseable c : closeables.reversed()) {
      c.close();
    }
    tryRun("ip", "netns", "del", pod);
    tryRun("ip", "netns", "del", peer);
    assertThat(run("ip", "netns", "list")).doesNotContain(pod);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("backends")
  void apply_redirects_bypasses_andRemoveRestoresExactly(String name, RedirectionRules rules) throws Exception {
    createPodAndPeer();
    PodNetns netns = new PodNetns(Path.of("/var/run/netns", pod));
    RedirectionRules.Options options = RedirectionRules.Options.defaults();
    String before = dump();

    rules.apply(netns, POD, options);
    assertThat(rules.check(netns, POD, options).isClean()).as("%s", rules.check(netns, POD, options)).isTrue();
    String applied = dump();
    if (name.equals("iptables")) {
      assertThat(applied)
          .contains("-A ISTIO_OUTPUT ! -d 127.0.0.1/32 -p tcp -m mark ! --mark 0x539/0xfff -j REDIRECT --to-ports 15001")
          .contains("-A ISTIO_OUTPUT ! -d ::1/128 -p tcp -m mark ! --mark 0x539/0xfff -j REDIRECT --to-ports 15001");
    } else {
      assertThat(applied).contains("table inet istio-ambient-nat", "redirect to :15001", "redirect to :15006");
    }
    assertThat(applied).doesNotContain("15053").contains("32764:\tfrom all fwmark 0x111/0xfff lookup 100");
    rules.apply(netns, POD, options);
    assertThat(dump()).as("apply is idempotent").isEqualTo(applied);

    try (LinuxSockets.NetNamespace podNs = LinuxSockets.NetNamespace.open(netns.path());
         LinuxSockets.NetNamespace peerNs = LinuxSockets.NetNamespace.open(Path.of("/var/run/netns", peer))) {
      group = Transport.EPOLL.newEventLoopGroup(1, "rules-test");
      BlockingQueue<SocketChannel> outbound = listen(podNs, 15001);
      BlockingQueue<SocketChannel> inbound = listen(podNs, 15006);

      // Outbound from the app: redirected to ztunnel's 15001, original destination intact.
      connectFrom(podNs, new InetSocketAddress(PEER_IP, 8080), false);
      SocketChannel redirected = outbound.poll(10, TimeUnit.SECONDS);
      assertThat(redirected).as("outbound connection reached 15001").isNotNull();
      assertThat(LinuxSockets.originalDestination(((EpollSocketChannel) redirected).fd().intValue()))
          .contains(new InetSocketAddress(PEER_IP, 8080));

      // ztunnel's own socket (mark 0x539) goes out to the real peer.
      ServerSocketChannel realPeer = peerNs.run(() -> ServerSocketChannel.open().bind(new InetSocketAddress(PEER_IP, 8080)));
      closeables.add(realPeer);
      connectFrom(podNs, new InetSocketAddress(PEER_IP, 8080), true);
      realPeer.configureBlocking(true);
      try (var s = acceptWithin(realPeer)) {
        assertThat(s).as("marked connection reached the real peer").isNotNull();
      }
      assertThat(outbound).as("marked connection bypassed 15001").isEmpty();

      // Inbound from the network: redirected to 15006.
      ServerSocketChannel app = podNs.run(() -> ServerSocketChannel.open().bind(new InetSocketAddress(80)));
      closeables.add(app);
      try (Socket fromPeer = peerNs.run(() -> new Socket(POD_IP, 80))) {
        SocketChannel in = inbound.poll(10, TimeUnit.SECONDS);
        assertThat(in).as("inbound connection reached 15006").isNotNull();
        assertThat(LinuxSockets.originalDestination(((EpollSocketChannel) in).fd().intValue()))
            .contains(new InetSocketAddress(POD_IP, 80));
      }
      // A kubelet probe (source 169.254.7.127) reaches the app itself.
      try (Socket probe = peerNs.run(() -> {
        Socket s = new Socket();
        s.bind(new InetSocketAddress(ip(RedirectionRules.Options.DEFAULT_PROBE_SNAT_V4), 0));
        s.connect(new InetSocketAddress(POD_IP, 80), 5000);
        return s;
      })) {
        try (var s = acceptWithin(app)) {
          assertThat(s).as("probe reached the app directly").isNotNull();
        }
        assertThat(inbound).as("probe bypassed 15006").isEmpty();
      }
    }

    rules.remove(netns, POD);
    assertThat(dump()).isEqualTo(before);
    RuleCheck afterRemove = rules.check(netns, POD, options);
    assertThat(afterRemove.missing()).isNotEmpty();
    assertThat(afterRemove.extra()).isEmpty();
    rules.remove(netns, POD); // removing twice is fine
    assertThat(dump()).isEqualTo(before);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("backends")
  void dnsCapture_addsDnsRules_andReapplyWithoutItRemovesThem(String name, RedirectionRules rules) throws Exception {
    createPodAndPeer();
    PodNetns netns = new PodNetns(Path.of("/var/run/netns", pod));
    PodAddresses v4Only = PodAddresses.of(POD_IP);
    String before = dump();
    // Someone else's rule in the same table must survive everything we do.
    run("ip", "netns", "exec", pod, "iptables", "-t", "nat", "-A", "POSTROUTING", "-o", "eth0", "-j", "RETURN");
    String withForeign = dump();
    assertThat(withForeign).isNotEqualTo(before);

    RedirectionRules.Options dns = RedirectionRules.Options.defaults().withDnsCapture(true);
    rules.apply(netns, v4Only, dns);
    assertThat(rules.check(netns, v4Only, dns).isClean()).isTrue();
    assertThat(dump()).contains("15053");
    assertThat(rules.check(netns, v4Only, RedirectionRules.Options.defaults()).extra()).isNotEmpty();

    rules.apply(netns, v4Only, RedirectionRules.Options.defaults());
    assertThat(rules.check(netns, v4Only, RedirectionRules.Options.defaults()).isClean())
        .as("%s", rules.check(netns, v4Only, RedirectionRules.Options.defaults())).isTrue();
    assertThat(dump()).doesNotContain("15053").contains("-A POSTROUTING -o eth0 -j RETURN");

    rules.remove(netns, v4Only);
    assertThat(dump()).isEqualTo(withForeign);
  }

  private BlockingQueue<SocketChannel> listen(LinuxSockets.NetNamespace ns, int port) throws Exception {
    BlockingQueue<SocketChannel> accepted = new LinkedBlockingQueue<>();
    ServerBootstrap sb = new ServerBootstrap().group(group).channel(EpollServerSocketChannel.class)
        .childHandler(new ChannelInitializer<SocketChannel>() {
          @Override
          protected void initChannel(SocketChannel ch) {
            accepted.add(ch);
            channels.add(ch);
          }
        });
    channels.add(ns.run(() -> sb.bind(port).sync().channel()));
    return accepted;
  }

  private void connectFrom(LinuxSockets.NetNamespace ns, InetSocketAddress target, boolean ztunnelMark) throws Exception {
    Bootstrap b = new Bootstrap().group(group).channel(EpollSocketChannel.class)
        .handler(new ChannelInitializer<SocketChannel>() {
          @Override
          protected void initChannel(SocketChannel ch) throws Exception {
            if (ztunnelMark) {
              LinuxSockets.setMark(((EpollSocketChannel) ch).fd().intValue(), 0x539);
            }
          }
        });
    // The socket is created by connect() on the namespace's thread, so it lives there.
    io.netty.channel.ChannelFuture f = ns.run(() -> b.connect(target));
    channels.add(f.channel());
    assertThat(f.await(10, TimeUnit.SECONDS)).as("connect to %s timed out", target).isTrue();
    assertThat(f.isSuccess()).as("connect to %s: %s", target, f.cause()).isTrue();
  }

  private static java.nio.channels.SocketChannel acceptWithin(ServerSocketChannel server) throws Exception {
    server.configureBlocking(false);
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (System.nanoTime() < deadline) {
      java.nio.channels.SocketChannel s = server.accept();
      if (s != null) {
        return s;
      }
      Thread.sleep(20);
    }
    return null;
  }

  private void createPodAndPeer() throws Exception {
    run("ip", "netns", "add", pod);
    run("ip", "netns", "add", peer);
    run("ip", "-n", pod, "link", "set", "lo", "up");
    run("ip", "-n", peer, "link", "set", "lo", "up");
    run("ip", "-n", pod, "link", "add", "eth0", "type", "veth", "peer", "name", "eth0", "netns", peer);
    run("ip", "-n", pod, "addr", "add", "198.18.77.2/24", "dev", "eth0");
    run("ip", "-n", pod, "addr", "add", "2001:db8:77::2/64", "dev", "eth0", "nodad");
    run("ip", "-n", peer, "addr", "add", "198.18.77.9/24", "dev", "eth0");
    run("ip", "-n", peer, "addr", "add", RedirectionRules.Options.DEFAULT_PROBE_SNAT_V4 + "/32", "dev", "eth0");
    // No link-local addresses: they would appear asynchronously and make the dumps differ.
    run("ip", "-n", pod, "link", "set", "eth0", "addrgenmode", "none");
    run("ip", "-n", peer, "link", "set", "eth0", "addrgenmode", "none");
    run("ip", "-n", pod, "link", "set", "eth0", "up");
    run("ip", "-n", peer, "link", "set", "eth0", "up");
    run("ip", "-n", pod, "route", "add", RedirectionRules.Options.DEFAULT_PROBE_SNAT_V4 + "/32", "dev", "eth0");
  }

  /**
   * Everything the rules may touch, without the timestamps iptables-save prints and without tables
   * that hold no rule at all: iptables-nft creates a table with its empty built-in chains on first
   * use and never deletes it (nor a built-in chain), so after removal those remain as empty,
   * accept-everything shells. Counters are dropped too.
   */
  private String dump() throws Exception {
    StringBuilder s = new StringBuilder();
    for (String[] cmd : List.of(new String[] {"iptables-save"}, new String[] {"ip6tables-save"},
        new String[] {"nft", "list", "ruleset"}, new String[] {"ip", "-4", "rule", "show"},
        new String[] {"ip", "-6", "rule", "show"}, new String[] {"ip", "-4", "route", "show", "table", "all"},
        new String[] {"ip", "-6", "route", "show", "table", "all"})) {
      List<String> argv = new ArrayList<>(List.of("ip", "netns", "exec", pod));
      argv.addAll(List.of(cmd));
      s.append("## ").append(String.join(" ", cmd)).append('\n');
      String out = run(argv.toArray(String[]::new)).lines().filter(l -> !l.startsWith("#"))
          .map(l -> l.replaceAll("counter packets \\d+ bytes \\d+", "counter").replaceAll("\\[\\d+:\\d+\\]", "[]"))
          .collect(java.util.stream.Collectors.joining("\n", "", "\n"));
      // Likewise iptables-nft's empty built-in chains (nft shows them, iptables-save shows them always).
      out = out.replaceAll("\\n\\s*chain \\S+ \\{\\n\\s*type [^\\n]*\\n\\s*\\}", "").replaceAll("\\n\\s*\\n", "\n");
      s.append(withoutEmptyTables(out));
    }
    return s.toString();
  }

  static String withoutEmptyTables(String dump) {
    StringBuilder kept = new StringBuilder();
    StringBuilder table = null;
    boolean hasRule = false;
    int depth = 0;
    for (String line : dump.split("\n")) {
      String t = line.strip();
      boolean opens = t.startsWith("*") || (t.startsWith("table ") && t.endsWith("{"));
      if (table == null && opens) {
        table = new StringBuilder();
        hasRule = false;
        depth = 0;
      }
      if (table == null) {
        kept.append(line).append('\n');
        continue;
      }
      table.append(line).append('\n');
      if (t.startsWith("-A ") || !(t.isEmpty() || t.startsWith("*") || t.startsWith(":") || t.equals("COMMIT")
          || t.startsWith("table ") || t.startsWith("chain ") || t.startsWith("type ") || t.equals("}"))) {
        hasRule = true;
      }
      depth += (int) t.chars().filter(c -> c == '{').count() - (int) t.chars().filter(c -> c == '}').count();
      boolean closes = t.equals("COMMIT") || (t.equals("}") && depth == 0);
      if (closes) {
        if (hasRule) {
          kept.append(table);
        }
        table = null;
      }
    }
    return kept.toString();
  }

  private static String run(String... command) throws Exception {
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(30, TimeUnit.SECONDS)).as("%s timed out", String.join(" ", command)).isTrue();
    assertThat(p.exitValue()).as("%s: %s", String.join(" ", command), out).isZero();
    return out;
  }

  private static void tryRun(String... command) throws Exception {
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    p.getInputStream().readAllBytes();
    p.waitFor(30, TimeUnit.SECONDS);
  }

  private static InetAddress ip(String literal) {
    try {
      return InetAddress.getByName(literal);
    } catch (java.io.IOException e) {
      throw new IllegalStateException(e);
    }
  }
}
