package dev.ambient.cni.agent.rules;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Pure text for the nftables backend (spec §2.7, "nftables backend"): the inet tables
 * {@code istio-ambient-nat}, {@code istio-ambient-mangle} and (DNS capture only)
 * {@code istio-ambient-raw}, each with base chains {@code prerouting}/{@code output} jumping to
 * {@code istio-prerouting}/{@code istio-output}, rules mirroring the iptables set.
 *
 * <p>Rules are written exactly as {@code nft list table} prints them back, so {@link #parse} of a
 * listing compares line by line with {@link #chains}. One {@code nft -f} transaction first creates
 * and deletes every Istio table (a no-op when absent), then defines the wanted ones: an atomic
 * rebuild that also drops a raw table left from a DNS-on configuration.
 */
final class NftScript {
  static final String NAT = "istio-ambient-nat";
  static final String MANGLE = "istio-ambient-mangle";
  static final String RAW = "istio-ambient-raw";
  static final List<String> TABLES = List.of(NAT, MANGLE, RAW);
  static final String PRERT = "istio-prerouting";
  static final String OUTPUT = "istio-output";
  static final String NOT_ZTUNNEL = "meta mark & 0x00000fff != 0x00000539";
  static final String ZTUNNEL = "meta mark & 0x00000fff == 0x00000539";

  private NftScript() {}

  /** A base chain: its hook line and the regular chain it jumps to. */
  record Base(String name, String hook, String jumpTo) {}

  static List<Base> bases(String table) {
    return switch (table) {
      case NAT -> List.of(new Base("prerouting", "type nat hook prerouting priority dstnat; policy accept;", PRERT),
          new Base("output", "type nat hook output priority -100; policy accept;", OUTPUT));
      case MANGLE -> List.of(new Base("prerouting", "type filter hook prerouting priority mangle; policy accept;", PRERT),
          new Base("output", "type route hook output priority mangle; policy accept;", OUTPUT));
      case RAW -> List.of(new Base("prerouting", "type filter hook prerouting priority raw; policy accept;", PRERT),
          new Base("output", "type filter hook output priority raw; policy accept;", OUTPUT));
      default -> throw new IllegalArgumentException(table);
    };
  }

  /** table -> chain -> rules (base chains included), for the wanted tables only. */
  static Map<String, Map<String, List<String>>> chains(PodAddresses addresses, RedirectionRules.Options o) {
    List<Family> families = addresses.families();
    Map<String, Map<String, List<String>>> tables = new LinkedHashMap<>();

    List<String> natPre = new ArrayList<>();
    for (String iface : o.virtualInterfaces()) {
      natPre.add("iifname \"" + iface + "\" meta l4proto tcp redirect to :15001");
      natPre.add("iifname \"" + iface + "\" meta l4proto tcp return");
    }
    if (!o.ingressMode()) {
      for (Family f : families) {
        natPre.add(ip(f) + " saddr " + f.probeSnat(o) + " meta l4proto tcp accept");
        natPre.add(ip(f) + " daddr != " + loopback(f) + " tcp dport != 15008 " + NOT_ZTUNNEL + " redirect to :15006");
      }
    }
    List<String> natOut = new ArrayList<>();
    for (Family f : families) {
      natOut.add(ip(f) + " daddr " + f.probeSnat(o) + " meta l4proto tcp accept");
    }
    if (o.dnsCapture()) {
      natOut.add("oifname != \"lo\" udp dport 53 " + NOT_ZTUNNEL + " redirect to :15053");
      for (Family f : families) {
        natOut.add(ip(f) + " daddr != " + loopback(f) + " tcp dport 53 " + NOT_ZTUNNEL + " redirect to :15053");
      }
    }
    natOut.add("meta l4proto tcp meta mark & 0x00000fff == 0x00000111 accept");
    for (Family f : families) {
      natOut.add(ip(f) + " daddr != " + loopback(f) + " oifname \"lo\" accept");
    }
    for (Family f : families) {
      natOut.add(ip(f) + " daddr != " + loopback(f) + " meta l4proto tcp " + NOT_ZTUNNEL + " redirect to :15001");
    }
    tables.put(NAT, withBases(NAT, natPre, natOut));
    tables.put(MANGLE, withBases(MANGLE,
        List.of(ZTUNNEL + " ct mark set ct mark & 0xfffff111 | 0x00000111"),
        List.of("ct mark & 0x00000fff == 0x00000111 meta mark set ct mark")));
    if (o.dnsCapture()) {
      tables.put(RAW, withBases(RAW,
          List.of("udp sport 53 " + NOT_ZTUNNEL + " ct zone set 1"),
          List.of("udp dport 53 " + ZTUNNEL + " ct zone set 1")));
    }
    return tables;
  }

  private static Map<String, List<String>> withBases(String table, List<String> pre, List<String> out) {
    Map<String, List<String>> chains = new LinkedHashMap<>();
    for (Base b : bases(table)) {
      chains.put(b.name(), List.of("jump " + b.jumpTo()));
    }
    chains.put(PRERT, List.copyOf(pre));
    chains.put(OUTPUT, List.copyOf(out));
    return chains;
  }

  private static String ip(Family f) {
    return f == Family.V4 ? "ip" : "ip6";
  }

  private static String loopback(Family f) {
    return f == Family.V4 ? "127.0.0.1" : "::1";
  }

  /** Deletes every Istio table that exists (create-then-delete keeps a missing one from failing). */
  static String removalScript() {
    StringBuilder s = new StringBuilder();
    for (String t : TABLES) {
      s.append("add table inet ").append(t).append('\n');
      s.append("delete table inet ").append(t).append('\n');
    }
    return s.toString();
  }

  /** The {@code nft -f} input: remove all Istio tables, then define the wanted ones. */
  static String applyScript(PodAddresses addresses, RedirectionRules.Options o) {
    StringBuilder s = new StringBuilder(removalScript());
    chains(addresses, o).forEach((table, chains) -> {
      s.append("table inet ").append(table).append(" {\n");
      Map<String, String> hooks = new LinkedHashMap<>();
      bases(table).forEach(b -> hooks.put(b.name(), b.hook()));
      chains.forEach((chain, rules) -> {
        s.append("\tchain ").append(chain).append(" {\n");
        if (hooks.containsKey(chain)) {
          s.append("\t\t").append(hooks.get(chain)).append('\n');
        }
        rules.forEach(r -> s.append("\t\t").append(r).append('\n'));
        s.append("\t}\n");
      });
      s.append("}\n");
    });
    return s.toString();
  }

  /** chain -> rules of one {@code nft list table} listing (hook lines and braces dropped). */
  static Map<String, List<String>> parse(String listing) {
    Map<String, List<String>> chains = new LinkedHashMap<>();
    List<String> current = null;
    for (String raw : listing.split("\n")) {
      String line = raw.strip();
      if (line.startsWith("chain ") && line.endsWith("{")) {
        current = new ArrayList<>();
        chains.put(line.substring(6, line.length() - 1).strip(), current);
      } else if (line.equals("}")) {
        current = null;
      } else if (current != null && !line.isEmpty() && !line.startsWith("type ")) {
        current.add(line.replaceAll(" # handle \\d+$", ""));
      }
    }
    return chains;
  }

  /** Wanted vs listed, per table: {@code listings} maps each existing Istio table to its listing. */
  static RuleCheck compare(Map<String, Map<String, List<String>>> wanted, Map<String, String> listings) {
    List<String> missing = new ArrayList<>();
    List<String> extra = new ArrayList<>();
    for (String table : TABLES) {
      Map<String, List<String>> want = wanted.getOrDefault(table, Map.of());
      Map<String, List<String>> have = listings.containsKey(table) ? parse(listings.get(table)) : Map.of();
      if (!wanted.containsKey(table) && listings.containsKey(table)) {
        extra.add("table inet " + table + " exists");
      }
      want.forEach((chain, rules) -> {
        List<String> present = new ArrayList<>(have.getOrDefault(chain, List.of()));
        for (String r : rules) {
          if (!present.remove(r)) {
            missing.add(table + " " + chain + ": " + r);
          }
        }
        present.forEach(r -> extra.add(table + " " + chain + ": " + r));
        if (present.isEmpty() && have.containsKey(chain) && !have.get(chain).equals(rules)
            && missing.stream().noneMatch(m -> m.startsWith(table + " " + chain + ":"))) {
          missing.add(table + " " + chain + ": rules in a different order");
        }
      });
      if (wanted.containsKey(table)) {
        have.keySet().stream().filter(c -> !want.containsKey(c)).forEach(c -> extra.add(table + " chain " + c));
      }
    }
    return new RuleCheck(missing, extra);
  }
}
