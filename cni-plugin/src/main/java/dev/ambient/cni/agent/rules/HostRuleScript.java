package dev.ambient.cni.agent.rules;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Pure text for the node's probe-SNAT rules (spec istio-ambient.md §2.8): traffic that a local
 * process (the kubelet) sends to an enrolled pod IP is source-NATed to {@code 169.254.7.127}, so
 * the pod's rules let it reach the app directly. Pod IPs live in a set with the pod UID as each
 * entry's comment, so a pod's entries can be removed exactly and a reused IP is recognised.
 */
final class HostRuleScript {
  static final String SET_V4 = "istio-inpod-probes-v4";
  static final String SET_V6 = "istio-inpod-probes-v6";
  static final String CHAIN = "ISTIO_POSTRT";
  static final String NFT_TABLE = "istio-ambient-nat";
  private static final Pattern UID = Pattern.compile("[A-Za-z0-9._-]{1,128}");

  private HostRuleScript() {}

  static String setName(InetAddress ip) {
    return ip instanceof Inet4Address ? SET_V4 : SET_V6;
  }

  static String checkUid(String uid) {
    if (!UID.matcher(uid).matches()) {
      throw new IllegalArgumentException("not a pod uid: '" + uid + "'");
    }
    return uid;
  }

  // --- iptables + ipset (upstream default) ---

  static List<List<String>> ipsetCreate() {
    return List.of(List.of("ipset", "create", SET_V4, "hash:ip", "family", "inet", "comment", "-exist"),
        List.of("ipset", "create", SET_V6, "hash:ip", "family", "inet6", "comment", "-exist"));
  }

  /** The {@code iptables-restore --noflush} input for one family (jump inserted first in POSTROUTING). */
  static String iptablesScript(Family f, RedirectionRules.Options o) {
    String set = f == Family.V4 ? SET_V4 : SET_V6;
    return "*nat\n"
        + ":" + CHAIN + " - [0:0]\n"
        + "-I POSTROUTING 1 -j " + CHAIN + "\n"
        + "-A " + CHAIN + " -m owner --socket-exists -p tcp -m set --match-set " + set + " dst -j SNAT --to-source "
        + f.probeSnat(o) + "\n"
        + "COMMIT\n";
  }

  // --- native nftables ---

  /**
   * Creates the table, both sets and the postrouting chain if missing (keeping set elements) and
   * replaces the chain's rules: matching {@code skuid kubeletUid} is nftables' way to say "sent by
   * the kubelet" where iptables says {@code --socket-exists}.
   */
  static String nftApply(RedirectionRules.Options o, int kubeletUid) {
    String t = "inet " + NFT_TABLE;
    return "add table " + t + "\n"
        + "add set " + t + " " + SET_V4 + " { type ipv4_addr; }\n"
        + "add set " + t + " " + SET_V6 + " { type ipv6_addr; }\n"
        + "add chain " + t + " postrouting { type nat hook postrouting priority srcnat; policy accept; }\n"
        + "flush chain " + t + " postrouting\n"
        + "add rule " + t + " postrouting meta l4proto tcp meta skuid " + kubeletUid + " ip daddr @" + SET_V4
        + " snat ip to " + o.probeSnatV4().getHostAddress() + "\n"
        + "add rule " + t + " postrouting meta l4proto tcp meta skuid " + kubeletUid + " ip6 daddr @" + SET_V6
        + " snat ip6 to " + o.probeSnatV6().getHostAddress() + "\n";
  }

  static String nftRemove() {
    return "add table inet " + NFT_TABLE + "\ndelete table inet " + NFT_TABLE + "\n";
  }

  static String nftAddElements(String uid, List<InetAddress> ips) {
    StringBuilder s = new StringBuilder();
    for (InetAddress ip : ips) {
      s.append("add element inet ").append(NFT_TABLE).append(' ').append(setName(ip)).append(" { ")
          .append(ip.getHostAddress()).append(" comment \"").append(checkUid(uid)).append("\" }\n");
    }
    return s.toString();
  }

  /** One set entry: the address and the uid in its comment ("" when it has none). */
  record Entry(String address, String uid) {}

  private static final Pattern NFT_ELEMENT = Pattern.compile("([0-9a-fA-F:.]+)(?: comment \"([^\"]*)\")?");

  /** Parses the {@code elements = { ... }} of {@code nft list set}. */
  static List<Entry> nftEntries(String listing) {
    List<Entry> entries = new ArrayList<>();
    int start = listing.indexOf("elements = {");
    if (start < 0) {
      return entries;
    }
    int end = listing.indexOf('}', start);
    String body = listing.substring(start + "elements = {".length(), end < 0 ? listing.length() : end);
    for (String part : body.split(",")) {
      Matcher m = NFT_ELEMENT.matcher(part.strip());
      if (m.matches()) {
        entries.add(new Entry(m.group(1), m.group(2) == null ? "" : m.group(2)));
      }
    }
    return entries;
  }

  private static final Pattern IPSET_MEMBER = Pattern.compile("([0-9a-fA-F:.]+)(?: comment \"([^\"]*)\")?.*");

  /** Parses the {@code Members:} of {@code ipset list NAME}. */
  static List<Entry> ipsetEntries(String listing) {
    List<Entry> entries = new ArrayList<>();
    boolean members = false;
    for (String line : listing.split("\n")) {
      if (line.startsWith("Members:")) {
        members = true;
      } else if (members && !line.isBlank()) {
        Matcher m = IPSET_MEMBER.matcher(line.strip());
        if (m.matches()) {
          entries.add(new Entry(m.group(1), m.group(2) == null ? "" : m.group(2)));
        }
      }
    }
    return entries;
  }

  /** The entries that belong to {@code uid}: an address now commented with another uid is kept. */
  static List<String> ownedBy(String uid, List<Entry> entries) {
    return entries.stream().filter(e -> e.uid().equals(uid)).map(Entry::address).toList();
  }
}
