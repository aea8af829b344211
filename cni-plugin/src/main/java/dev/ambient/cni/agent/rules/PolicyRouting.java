package dev.ambient.cni.agent.rules;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * The netlink half of the in-pod setup (spec §2.7): {@code ip rule fwmark 0x111/0xfff lookup 100
 * pref 32764} and {@code local 0.0.0.0/0 dev lo scope host table 100} (and {@code ::/0} for IPv6),
 * which deliver replies to ztunnel's spoofed-source connections back to ztunnel. Shared by both rule
 * backends.
 */
final class PolicyRouting {
  static final String TABLE = "100";
  static final String PRIORITY = "32764";
  static final String FWMARK = "0x111/0xfff";

  private PolicyRouting() {}

  static List<String> ruleArgs(Family f, String verb) {
    return List.of("ip", f.ipFlag, "rule", verb, "fwmark", FWMARK, "pref", PRIORITY, "lookup", TABLE);
  }

  static List<String> routeArgs(Family f, String verb) {
    return List.of("ip", f.ipFlag, "route", verb, "local", f.anyRoute, "dev", "lo", "scope", "host", "table", TABLE);
  }

  /** Whether {@code ip rule show} output has our rule. */
  static boolean hasRule(String ipRuleShow) {
    return ipRuleShow.lines().map(l -> String.join(" ", l.trim().split("\\s+")))
        .anyMatch(l -> l.equals(PRIORITY + ": from all fwmark " + FWMARK + " lookup " + TABLE));
  }

  /** Whether {@code ip route show table 100} output has our local default route. */
  static boolean hasRoute(String ipRouteShow) {
    return ipRouteShow.lines().map(l -> String.join(" ", l.trim().split("\\s+")))
        .anyMatch(l -> l.startsWith("local default dev lo"));
  }

  static void apply(Commands ns, Family f) throws IOException {
    if (!hasRule(ns.checked(List.of("ip", f.ipFlag, "rule", "show"), ""))) {
      ns.checked(ruleArgs(f, "add"), "");
    }
    ns.checked(routeArgs(f, "replace"), "");
  }

  /** Deletes the rule (every copy) and the route; absent pieces are fine. */
  static void remove(Commands ns, Family f) throws IOException {
    for (int i = 0; i < 8 && ns.run(ruleArgs(f, "del"), "").ok(); i++) {
      // an old kernel may hold duplicates; delete until none is left (bounded)
    }
    ns.run(routeArgs(f, "del"), "");
  }

  static List<String> missing(Commands ns, Family f) throws IOException {
    List<String> missing = new ArrayList<>();
    if (!hasRule(ns.checked(List.of("ip", f.ipFlag, "rule", "show"), ""))) {
      missing.add(String.join(" ", ruleArgs(f, "add")));
    }
    if (!hasRoute(ns.checked(List.of("ip", f.ipFlag, "route", "show", "table", TABLE), ""))) {
      missing.add(String.join(" ", routeArgs(f, "replace")));
    }
    return missing;
  }
}
