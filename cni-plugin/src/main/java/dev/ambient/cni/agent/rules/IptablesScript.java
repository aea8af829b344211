package dev.ambient.cni.agent.rules;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Pure text for the iptables backend: the {@code iptables-restore --noflush} input of spec §2.7
 * (in the spec's exact rule shapes and order), the script that removes exactly the Istio chains and
 * jumps found in an {@code iptables-save} dump, and the comparison of a dump with the desired rules.
 */
final class IptablesScript {
  static final String PRERT = "ISTIO_PRERT";
  static final String OUTPUT = "ISTIO_OUTPUT";
  static final List<String> OWNED_CHAINS = List.of(PRERT, OUTPUT);
  static final String ZTUNNEL_MARK = "0x539/0xfff";
  static final String CONN_MARK = "0x111/0xfff";

  private IptablesScript() {}

  /** One rule line ({@code -A CHAIN ...}) in a table. */
  record Rule(String table, String line) {
    String chain() {
      return line.split(" ", 3)[1];
    }

    @Override
    public String toString() {
      return table + " " + chain() + ": " + line;
    }
  }

  /** The desired rules, in order, for one family. */
  static List<Rule> rules(Family f, RedirectionRules.Options o) {
    String lo = f.loopback;
    String snat = f.probeSnat(o);
    List<Rule> r = new ArrayList<>();
    String mangle = "mangle";
    r.add(new Rule(mangle, "-A PREROUTING -j ISTIO_PRERT"));
    r.add(new Rule(mangle, "-A OUTPUT -j ISTIO_OUTPUT"));
    r.add(new Rule(mangle, "-A ISTIO_PRERT -m mark --mark " + ZTUNNEL_MARK + " -j CONNMARK --set-xmark " + CONN_MARK));
    r.add(new Rule(mangle, "-A ISTIO_OUTPUT -m connmark --mark " + CONN_MARK
        + " -j CONNMARK --restore-mark --nfmask 0xffffffff --ctmask 0xffffffff"));
    String nat = "nat";
    r.add(new Rule(nat, "-A OUTPUT -j ISTIO_OUTPUT"));
    r.add(new Rule(nat, "-A PREROUTING -j ISTIO_PRERT"));
    for (String iface : o.virtualInterfaces()) {
      r.add(new Rule(nat, "-A ISTIO_PRERT -i " + iface + " -p tcp -j REDIRECT --to-ports 15001"));
      r.add(new Rule(nat, "-A ISTIO_PRERT -i " + iface + " -p tcp -j RETURN"));
    }
    if (!o.ingressMode()) {
      r.add(new Rule(nat, "-A ISTIO_PRERT -s " + snat + " -p tcp -m tcp -j ACCEPT"));
    }
    r.add(new Rule(nat, "-A ISTIO_OUTPUT -d " + snat + " -p tcp -m tcp -j ACCEPT"));
    if (!o.ingressMode()) {
      r.add(new Rule(nat, "-A ISTIO_PRERT ! -d " + lo + " -p tcp ! --dport 15008 -m mark ! --mark " + ZTUNNEL_MARK
          + " -j REDIRECT --to-ports 15006"));
    }
    if (o.dnsCapture()) {
      r.add(new Rule(nat, "-A ISTIO_OUTPUT ! -o lo -p udp -m mark ! --mark " + ZTUNNEL_MARK
          + " -m udp --dport 53 -j REDIRECT --to-port 15053"));
      r.add(new Rule(nat, "-A ISTIO_OUTPUT ! -d " + lo + " -p tcp --dport 53 -m mark ! --mark " + ZTUNNEL_MARK
          + " -j REDIRECT --to-ports 15053"));
    }
    r.add(new Rule(nat, "-A ISTIO_OUTPUT -p tcp -m mark --mark " + CONN_MARK + " -j ACCEPT"));
    r.add(new Rule(nat, "-A ISTIO_OUTPUT ! -d " + lo + " -o lo -j ACCEPT"));
    r.add(new Rule(nat, "-A ISTIO_OUTPUT ! -d " + lo + " -p tcp -m mark ! --mark " + ZTUNNEL_MARK
        + " -j REDIRECT --to-ports 15001"));
    if (o.dnsCapture()) {
      String raw = "raw";
      r.add(new Rule(raw, "-A PREROUTING -j ISTIO_PRERT"));
      r.add(new Rule(raw, "-A OUTPUT -j ISTIO_OUTPUT"));
      r.add(new Rule(raw, "-A ISTIO_OUTPUT -p udp -m mark --mark " + ZTUNNEL_MARK + " -m udp --dport 53 -j CT --zone 1"));
      r.add(new Rule(raw, "-A ISTIO_PRERT -p udp -m mark ! --mark " + ZTUNNEL_MARK + " -m udp --sport 53 -j CT --zone 1"));
    }
    return r;
  }

  /** The {@code iptables-restore --noflush} input installing {@link #rules}. */
  static String restoreScript(Family f, RedirectionRules.Options o) {
    Map<String, List<Rule>> byTable = new LinkedHashMap<>();
    for (Rule rule : rules(f, o)) {
      byTable.computeIfAbsent(rule.table(), t -> new ArrayList<>()).add(rule);
    }
    StringBuilder s = new StringBuilder();
    byTable.forEach((table, rules) -> {
      s.append('*').append(table).append('\n');
      for (String chain : OWNED_CHAINS) {
        s.append(':').append(chain).append(" - [0:0]\n");
      }
      rules.forEach(rule -> s.append(rule.line()).append('\n'));
      s.append("COMMIT\n");
    });
    return s.toString();
  }

  /** The Istio-owned part of an {@code iptables-save} dump. */
  record Owned(Map<String, Set<String>> chainsByTable, List<Rule> rules) {
    boolean isEmpty() {
      return chainsByTable.isEmpty() && rules.isEmpty();
    }
  }

  /** Istio chains and every rule in them or jumping to them, in dump order. */
  static Owned owned(String save) {
    Map<String, Set<String>> chains = new LinkedHashMap<>();
    List<Rule> rules = new ArrayList<>();
    String table = "";
    for (String raw : save.split("\n")) {
      String line = raw.strip();
      if (line.startsWith("*")) {
        table = line.substring(1);
      } else if (line.startsWith(":")) {
        String chain = line.substring(1).split(" ", 2)[0];
        if (OWNED_CHAINS.contains(chain)) {
          chains.computeIfAbsent(table, t -> new LinkedHashSet<>()).add(chain);
        }
      } else if (line.startsWith("-A ")) {
        Rule rule = new Rule(table, line);
        if (OWNED_CHAINS.contains(rule.chain()) || jumpTarget(line) != null) {
          rules.add(rule);
        }
      }
    }
    return new Owned(chains, rules);
  }

  private static @org.jspecify.annotations.Nullable String jumpTarget(String line) {
    String[] t = line.split(" ");
    for (int i = 0; i + 1 < t.length; i++) {
      if ((t[i].equals("-j") || t[i].equals("-g")) && OWNED_CHAINS.contains(t[i + 1])) {
        return t[i + 1];
      }
    }
    return null;
  }

  /**
   * The {@code iptables-restore --noflush} input that deletes the jumps into the Istio chains, then
   * flushes and deletes those chains, for what {@code save} shows; empty when there is nothing.
   */
  static String removalScript(String save) {
    Owned owned = owned(save);
    Map<String, List<String>> byTable = new LinkedHashMap<>();
    for (Rule rule : owned.rules()) {
      if (!OWNED_CHAINS.contains(rule.chain())) {
        byTable.computeIfAbsent(rule.table(), t -> new ArrayList<>()).add("-D" + rule.line().substring(2));
      }
    }
    owned.chainsByTable().forEach((table, chains) -> {
      List<String> lines = byTable.computeIfAbsent(table, t -> new ArrayList<>());
      chains.forEach(c -> lines.add("-F " + c));
      chains.forEach(c -> lines.add("-X " + c));
    });
    StringBuilder s = new StringBuilder();
    byTable.forEach((table, lines) -> {
      s.append('*').append(table).append('\n');
      lines.forEach(l -> s.append(l).append('\n'));
      s.append("COMMIT\n");
    });
    return s.toString();
  }

  /**
   * A rule as {@code iptables-save} prints it: host prefixes on bare {@code -s}/{@code -d}
   * addresses, the implicit {@code -m tcp}/{@code -m udp} before port matches, {@code --to-ports}.
   */
  static String canonical(String line) {
    List<String> t = new ArrayList<>(List.of(line.trim().split("\\s+")));
    for (int i = 0; i + 1 < t.size(); i++) {
      String opt = t.get(i);
      if ((opt.equals("-s") || opt.equals("-d")) && !t.get(i + 1).contains("/")) {
        t.set(i + 1, t.get(i + 1) + (t.get(i + 1).contains(":") ? "/128" : "/32"));
      }
      if (opt.equals("--to-port")) {
        t.set(i, "--to-ports");
      }
    }
    int p = t.indexOf("-p");
    if (p >= 0 && p + 1 < t.size()) {
      String proto = t.get(p + 1);
      boolean ports = t.contains("--dport") || t.contains("--sport");
      boolean hasMatch = false;
      for (int i = 0; i + 1 < t.size(); i++) {
        hasMatch |= t.get(i).equals("-m") && t.get(i + 1).equals(proto);
      }
      if (ports && !hasMatch) {
        t.add(p + 2, "-m");
        t.add(p + 3, proto);
      }
    }
    return String.join(" ", t);
  }

  /** Differences between the desired rules and an {@code iptables-save} dump, rule by rule. */
  static RuleCheck compare(List<Rule> desired, String save) {
    List<Rule> want = desired.stream().map(r -> new Rule(r.table(), canonical(r.line()))).toList();
    List<Rule> have = owned(save).rules().stream().map(r -> new Rule(r.table(), canonical(r.line()))).toList();
    List<String> missing = new ArrayList<>();
    List<String> extra = new ArrayList<>();
    List<Rule> remaining = new ArrayList<>(have);
    for (Rule r : want) {
      if (!remaining.remove(r)) {
        missing.add(r.toString());
      }
    }
    remaining.forEach(r -> extra.add(r.toString()));
    Set<String> wantedTables = new LinkedHashSet<>();
    want.forEach(r -> wantedTables.add(r.table()));
    owned(save).chainsByTable().forEach((table, chains) -> {
      if (!wantedTables.contains(table)) {
        chains.forEach(c -> extra.add(table + " " + c + ": chain exists"));
      }
    });
    if (missing.isEmpty() && extra.isEmpty()) {
      // Same rules: inside the Istio chains the order matters too.
      for (String chain : OWNED_CHAINS) {
        for (String table : List.of("mangle", "nat", "raw")) {
          List<Rule> w = want.stream().filter(r -> r.table().equals(table) && r.chain().equals(chain)).toList();
          List<Rule> h = have.stream().filter(r -> r.table().equals(table) && r.chain().equals(chain)).toList();
          if (!w.equals(h)) {
            missing.add(table + " " + chain + ": rules in a different order");
          }
        }
      }
    }
    return new RuleCheck(missing, extra);
  }
}
