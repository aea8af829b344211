package dev.ambient.lab;

import java.util.HexFormat;
import java.util.concurrent.ThreadLocalRandom;
import java.util.regex.Pattern;

/**
 * Names and addresses of one lab run; pure. Every name starts with the run's prefix ({@value #PREFIX_BASE}
 * and four hex digits) so that {@code lab down} can find leftovers.
 *
 * With subnet octet {@code S} (0 for {@code lab up}; tests pick others so that runs do not collide):
 *
 * <ul>
 *   <li>bridge {@code <prefix>-br} in the root namespace, {@code 198.18.S.1/24};
 *   <li>node {@code i}: netns {@code <prefix>-n<i>}, {@code eth0} = {@code 198.18.S.(10+i)/24}, host veth
 *       {@code <prefix>-v<i>}, Kubernetes node name {@code node-<i>};
 *   <li>pods on node {@code i}: {@code 198.18.(S+i+1).2}–{@code .254}, gateway {@code 198.18.(S+i+1).1} (the
 *       node end of each pod's veth), netns {@code <prefix>-<namespace>-<pod>}, node-side veth
 *       {@code pod<last octet>}.
 * </ul>
 */
record LabLayout(String prefix, int nodes, int subnet) {
  static final String PREFIX_BASE = "alb";
  static final Pattern PREFIX = Pattern.compile(PREFIX_BASE + "[0-9a-f]{4}");
  static final int MAX_NODES = 50;
  static final int FIRST_POD_OCTET = 2;
  static final int LAST_POD_OCTET = 254;

  LabLayout {
    if (!PREFIX.matcher(prefix).matches()) {
      throw new IllegalArgumentException("lab prefix must be " + PREFIX.pattern() + ", got '" + prefix + "'");
    }
    if (nodes < 1 || nodes > MAX_NODES) {
      throw new IllegalArgumentException("--nodes must be 1.." + MAX_NODES + ", got " + nodes);
    }
    if (subnet < 0 || subnet + nodes > 255) {
      throw new IllegalArgumentException("subnet octet " + subnet + " leaves no room for " + nodes + " pod subnets");
    }
  }

  /** A layout with a fresh random prefix. */
  static LabLayout random(int nodes, int subnet) {
    return new LabLayout(PREFIX_BASE + HexFormat.of().toHexDigits((short) ThreadLocalRandom.current().nextInt()),
        nodes, subnet);
  }

  String bridge() {
    return prefix + "-br";
  }

  String bridgeAddress() {
    return "198.18." + subnet + ".1";
  }

  String nodeNetns(int node) {
    return prefix + "-n" + check(node);
  }

  String nodeName(int node) {
    return "node-" + check(node);
  }

  String hostVeth(int node) {
    return prefix + "-v" + check(node);
  }

  String nodeAddress(int node) {
    return "198.18." + subnet + "." + (10 + check(node));
  }

  /** The node index of a node name ({@code node-3} or plain {@code 3}). */
  int nodeIndex(String nodeName) {
    String n = nodeName.startsWith("node-") ? nodeName.substring(5) : nodeName;
    try {
      return check(Integer.parseInt(n));
    } catch (NumberFormatException | IndexOutOfBoundsException e) {
      throw new IllegalArgumentException("no node '" + nodeName + "' in this lab (node-0 .. node-" + (nodes - 1) + ")");
    }
  }

  /** The pod CIDR of a node: {@code 198.18.(i+1).0/24}. */
  String podCidr(int node) {
    return "198.18." + (subnet + check(node) + 1) + ".0/24";
  }

  String podGateway(int node) {
    return "198.18." + (subnet + check(node) + 1) + ".1";
  }

  String podAddress(int node, int octet) {
    if (octet < FIRST_POD_OCTET || octet > LAST_POD_OCTET) {
      throw new IllegalArgumentException("pod octet must be " + FIRST_POD_OCTET + ".." + LAST_POD_OCTET);
    }
    return "198.18." + (subnet + check(node) + 1) + "." + octet;
  }

  /** The node-side veth of the pod with address {@code 198.18.x.octet}. */
  static String podVeth(int octet) {
    return "pod" + octet;
  }

  String podNetns(String namespace, String name) {
    return prefix + "-" + namespace + "-" + name;
  }

  private int check(int node) {
    if (node < 0 || node >= nodes) {
      throw new IndexOutOfBoundsException("node " + node + " of " + nodes);
    }
    return node;
  }
}
