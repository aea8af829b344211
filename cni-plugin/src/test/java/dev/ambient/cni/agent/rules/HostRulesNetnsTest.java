package dev.ambient.cni.agent.rules;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ambient.net.LinuxSockets;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The nftables probe SNAT in a throw-away "node" netns wired to a "pod" netns: a local process
 * connecting to an enrolled pod arrives from 169.254.7.127, a non-enrolled pod sees the node's
 * address, set entries follow the pod uid, and remove restores the node exactly. Needs root.
 * (The iptables variant needs the ipset tool, not installed here: its text has golden tests.)
 */
@Tag("netns")
class HostRulesNetnsTest {
  private static final InetAddress NODE_IP = ip("198.18.79.1");
  private static final InetAddress POD_IP = ip("198.18.79.2");
  private static final InetAddress OTHER_IP = ip("198.18.79.3");
  private final String node = "cnih" + HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextInt()).substring(0, 6);
  private final String pod = node + "p";

  @AfterEach
  void cleanUp() throws Exception {
    tryRun("ip", "netns", "del", node);
    tryRun("ip", "netns", "del", pod);
  }

  @Test
  void nftables_snatsLocalTrafficToEnrolledPods_perUid_andRemovesExactly() throws Exception {
    assertThat(run("id", "-u").strip()).as("needs root").isEqualTo("0");
    run("ip", "netns", "add", node);
    run("ip", "netns", "add", pod);
    run("ip", "-n", node, "link", "add", "veth0", "type", "veth", "peer", "name", "eth0", "netns", pod);
    run("ip", "-n", node, "addr", "add", "198.18.79.1/24", "dev", "veth0");
    run("ip", "-n", pod, "addr", "add", "198.18.79.2/24", "dev", "eth0");
    run("ip", "-n", pod, "addr", "add", "198.18.79.3/24", "dev", "eth0");
    run("ip", "-n", node, "link", "set", "veth0", "up");
    run("ip", "-n", pod, "link", "set", "eth0", "up");
    // Like a pod's default route: replies to the SNAT address go to the node (it does not own that address).
    run("ip", "-n", pod, "route", "add", "169.254.7.127/32", "via", "198.18.79.1", "dev", "eth0");
    Path nodeNs = Path.of("/var/run/netns", node);
    String before = run("ip", "netns", "exec", node, "nft", "list", "ruleset");

    HostRules rules = HostRules.nftables(nodeNs, RedirectionRules.Options.defaults(), 0); // the test runs as uid 0
    rules.apply();
    rules.apply(); // idempotent
    rules.addPod("uid-1", PodAddresses.of(POD_IP));
    assertThat(set()).contains("198.18.79.2 comment \"uid-1\"");

    try (LinuxSockets.NetNamespace nodeNetns = LinuxSockets.NetNamespace.open(nodeNs);
         LinuxSockets.NetNamespace podNetns = LinuxSockets.NetNamespace.open(Path.of("/var/run/netns", pod));
         ServerSocketChannel app = podNetns.run(() -> ServerSocketChannel.open().bind(new InetSocketAddress(8080)))) {
      assertThat(sourceSeenByPod(nodeNetns, app, POD_IP)).isEqualTo(ip(RedirectionRules.Options.DEFAULT_PROBE_SNAT_V4));
      assertThat(sourceSeenByPod(nodeNetns, app, OTHER_IP)).as("not enrolled: no SNAT").isEqualTo(NODE_IP);

      // The pod's IP moves to another pod: removing the first pod keeps the new owner's entry.
      rules.addPod("uid-2", PodAddresses.of(POD_IP));
      rules.removePod("uid-1", PodAddresses.of(POD_IP));
      assertThat(set()).contains("198.18.79.2 comment \"uid-2\"");
      rules.removePod("uid-2", PodAddresses.of(POD_IP));
      assertThat(set()).doesNotContain("198.18.79.2");
      assertThat(sourceSeenByPod(nodeNetns, app, POD_IP)).as("un-enrolled: no SNAT").isEqualTo(NODE_IP);
    }

    rules.remove();
    assertThat(run("ip", "netns", "exec", node, "nft", "list", "ruleset")).isEqualTo(before);
    rules.remove(); // twice is fine
  }

  private static InetAddress sourceSeenByPod(LinuxSockets.NetNamespace nodeNs, ServerSocketChannel app, InetAddress target)
      throws Exception {
    try (java.net.Socket client = nodeNs.run(() -> {
      java.net.Socket s = new java.net.Socket();
      s.connect(new InetSocketAddress(target, 8080), 5000);
      return s;
    }); SocketChannel accepted = app.accept()) {
      return ((InetSocketAddress) accepted.getRemoteAddress()).getAddress();
    }
  }

  private String set() throws Exception {
    return run("ip", "netns", "exec", node, "nft", "list", "set", "inet", "istio-ambient-nat", "istio-inpod-probes-v4");
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
