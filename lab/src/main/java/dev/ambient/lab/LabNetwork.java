package dev.ambient.lab;

import java.util.ArrayList;
import java.util.List;

/**
 * Creates and removes the lab's namespaces, links and routes with {@code ip} (needs root). Nodes hang on
 * the bridge; each pod is a namespace joined to its node's namespace by a veth pair, point to point
 * ({@code /32} on both ends, as the CNI ptp plugin does); every node routes the other nodes' pod CIDRs
 * over the bridge, and the root namespace routes all of them, so pods reach each other across nodes
 * without any mesh.
 */
final class LabNetwork {
  private LabNetwork() {}

  /** Creates the bridge and the node namespaces; on failure removes what was created and rethrows. */
  static void create(LabLayout l) {
    try {
      Sh.check("ip", "link", "add", l.bridge(), "type", "bridge");
      Sh.check("ip", "addr", "add", l.bridgeAddress() + "/24", "dev", l.bridge());
      Sh.check("ip", "link", "set", l.bridge(), "up");
      for (int i = 0; i < l.nodes(); i++) {
        String ns = l.nodeNetns(i);
        String peer = l.prefix() + "-p" + i;
        Sh.check("ip", "netns", "add", ns);
        Sh.check("ip", "-n", ns, "link", "set", "lo", "up");
        Sh.check("ip", "link", "add", l.hostVeth(i), "type", "veth", "peer", "name", peer);
        Sh.check("ip", "link", "set", peer, "netns", ns);
        Sh.check("ip", "-n", ns, "link", "set", peer, "name", "eth0");
        Sh.check("ip", "-n", ns, "addr", "add", l.nodeAddress(i) + "/24", "dev", "eth0");
        Sh.check("ip", "-n", ns, "link", "set", "eth0", "up");
        Sh.check("ip", "-n", ns, "route", "add", "default", "via", l.bridgeAddress());
        Sh.check("ip", "netns", "exec", ns, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1");
        Sh.check("ip", "link", "set", l.hostVeth(i), "master", l.bridge());
        Sh.check("ip", "link", "set", l.hostVeth(i), "up");
      }
      for (int i = 0; i < l.nodes(); i++) {
        for (int j = 0; j < l.nodes(); j++) {
          if (i != j) {
            Sh.check("ip", "-n", l.nodeNetns(i), "route", "add", l.podCidr(j), "via", l.nodeAddress(j));
          }
        }
        Sh.check("ip", "route", "add", l.podCidr(i), "via", l.nodeAddress(i), "dev", l.bridge());
      }
    } catch (RuntimeException e) {
      removeAll(l.prefix());
      throw e;
    }
  }

  /**
   * Creates the pod's namespace and its veth to the node: pod {@code eth0} = {@code ip/32} with a default
   * route via the node's gateway address, node side {@code pod<octet>} with the gateway address and a
   * host route to the pod. On failure the pod namespace is removed and the error rethrown.
   */
  static void addPod(LabLayout l, int node, String podNetns, int octet) {
    String nodeNs = l.nodeNetns(node);
    String ip = l.podAddress(node, octet);
    String veth = LabLayout.podVeth(octet);
    String tmp = l.prefix() + "-t" + octet;
    try {
      Sh.check("ip", "netns", "add", podNetns);
      Sh.check("ip", "-n", podNetns, "link", "set", "lo", "up");
      Sh.check("ip", "-n", nodeNs, "link", "add", veth, "type", "veth", "peer", "name", tmp);
      Sh.check("ip", "-n", nodeNs, "link", "set", tmp, "netns", podNetns);
      Sh.check("ip", "-n", podNetns, "link", "set", tmp, "name", "eth0");
      Sh.check("ip", "-n", podNetns, "addr", "add", ip + "/32", "dev", "eth0");
      Sh.check("ip", "-n", podNetns, "link", "set", "eth0", "up");
      Sh.check("ip", "-n", podNetns, "route", "add", l.podGateway(node), "dev", "eth0", "scope", "link");
      Sh.check("ip", "-n", podNetns, "route", "add", "default", "via", l.podGateway(node), "dev", "eth0");
      Sh.check("ip", "-n", nodeNs, "addr", "add", l.podGateway(node) + "/32", "dev", veth);
      Sh.check("ip", "-n", nodeNs, "link", "set", veth, "up");
      Sh.check("ip", "-n", nodeNs, "route", "add", ip + "/32", "dev", veth);
    } catch (RuntimeException e) {
      removePod(podNetns);
      throw e;
    }
  }

  /** Kills every process in the pod's namespace and deletes it (its veth goes with it). Idempotent. */
  static void removePod(String podNetns) {
    if (namespaces().contains(podNetns)) {
      killProcessesIn(podNetns);
      Sh.run("ip", "netns", "del", podNetns);
    }
  }

  /**
   * Removes everything named with {@code prefix}: processes in those namespaces, the namespaces (pods
   * first), and root-namespace links (the bridge and host veths; routes over the bridge go with it).
   * {@code prefix} is a run prefix or {@link LabLayout#PREFIX_BASE} for every run's leftovers.
   */
  static List<String> removeAll(String prefix) {
    List<String> removed = new ArrayList<>();
    List<String> nss = namespaces().stream().filter(n -> owned(n, prefix)).toList();
    for (String ns : nss) {
      killProcessesIn(ns);
    }
    // Pod namespaces before node namespaces: a pod's veth lives in its node's namespace.
    for (String ns : nss.stream().sorted((a, b) -> Boolean.compare(isNode(a), isNode(b))).toList()) {
      Sh.run("ip", "netns", "del", ns);
      removed.add("netns " + ns);
    }
    for (String link : links()) {
      if (owned(link, prefix)) {
        Sh.run("ip", "link", "del", link);
        removed.add("link " + link);
      }
    }
    return removed;
  }

  private static boolean owned(String name, String prefix) {
    return name.startsWith(prefix) && LabLayout.PREFIX.matcher(name.split("-", 2)[0]).matches()
        && name.contains("-");
  }

  private static boolean isNode(String ns) {
    return ns.matches(LabLayout.PREFIX.pattern() + "-n[0-9]+");
  }

  static void killProcessesIn(String ns) {
    for (String pid : Sh.run("ip", "netns", "pids", ns).output().strip().split("\\s+")) {
      if (!pid.isEmpty() && pid.chars().allMatch(Character::isDigit)) {
        ProcessHandle.of(Long.parseLong(pid)).ifPresent(Sh::kill);
      }
    }
  }

  /** The names in {@code ip netns list} (which prints "name (id: N)" for namespaces with an id). */
  static List<String> namespaces() {
    return Sh.run("ip", "netns", "list").output().lines()
        .map(line -> line.strip().split("\\s+")[0]).filter(s -> !s.isEmpty()).toList();
  }

  /** Link names in the root namespace (without the {@code @peer} suffix). */
  static List<String> links() {
    return Sh.run("ip", "-o", "link", "show").output().lines()
        .map(line -> line.split(":\\s+", 3))
        .filter(f -> f.length >= 2)
        .map(f -> f[1].split("@")[0].strip())
        .toList();
  }
}
