package dev.ambient.cni.agent.rules;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetAddress;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Golden tests of the node probe-SNAT text (spec istio-ambient.md §2.8) and set-listing parsing. */
class HostRuleScriptTest {
  private static final RedirectionRules.Options DEFAULTS = RedirectionRules.Options.defaults();

  @Test
  void iptables_isTheSpecShape() {
    assertThat(HostRuleScript.iptablesScript(Family.V4, DEFAULTS)).isEqualTo("""
        *nat
        :ISTIO_POSTRT - [0:0]
        -I POSTROUTING 1 -j ISTIO_POSTRT
        -A ISTIO_POSTRT -m owner --socket-exists -p tcp -m set --match-set istio-inpod-probes-v4 dst -j SNAT --to-source 169.254.7.127
        COMMIT
        """);
    assertThat(HostRuleScript.iptablesScript(Family.V6, DEFAULTS)).contains(
        "-m set --match-set istio-inpod-probes-v6 dst -j SNAT --to-source fd16:9254:7127:1337:ffff:ffff:ffff:ffff");
    assertThat(HostRuleScript.ipsetCreate()).containsExactly(
        List.of("ipset", "create", "istio-inpod-probes-v4", "hash:ip", "family", "inet", "comment", "-exist"),
        List.of("ipset", "create", "istio-inpod-probes-v6", "hash:ip", "family", "inet6", "comment", "-exist"));
  }

  @Test
  void nftables_golden() {
    assertThat(HostRuleScript.nftApply(DEFAULTS, 1234)).isEqualTo("""
        add table inet istio-ambient-nat
        add set inet istio-ambient-nat istio-inpod-probes-v4 { type ipv4_addr; }
        add set inet istio-ambient-nat istio-inpod-probes-v6 { type ipv6_addr; }
        add chain inet istio-ambient-nat postrouting { type nat hook postrouting priority srcnat; policy accept; }
        flush chain inet istio-ambient-nat postrouting
        add rule inet istio-ambient-nat postrouting meta l4proto tcp meta skuid 1234 ip daddr @istio-inpod-probes-v4 snat ip to 169.254.7.127
        add rule inet istio-ambient-nat postrouting meta l4proto tcp meta skuid 1234 ip6 daddr @istio-inpod-probes-v6 snat ip6 to fd16:9254:7127:1337:ffff:ffff:ffff:ffff
        """);
    assertThat(HostRuleScript.nftAddElements("uid-1", List.of(ip("198.18.0.5"), ip("2001:db8::5")))).isEqualTo("""
        add element inet istio-ambient-nat istio-inpod-probes-v4 { 198.18.0.5 comment "uid-1" }
        add element inet istio-ambient-nat istio-inpod-probes-v6 { 2001:db8:0:0:0:0:0:5 comment "uid-1" }
        """);
  }

  @Test
  void nftListing_parsed_andOnlyTheUidsOwnEntriesSelected() {
    String listing = """
        table inet istio-ambient-nat {
        \tset istio-inpod-probes-v4 {
        \t\ttype ipv4_addr
        \t\telements = { 198.18.0.5 comment "uid-a", 198.18.0.6 comment "uid-b",
        \t\t\t     198.18.0.7 }
        \t}
        }
        """;
    List<HostRuleScript.Entry> entries = HostRuleScript.nftEntries(listing);
    assertThat(entries).containsExactly(new HostRuleScript.Entry("198.18.0.5", "uid-a"),
        new HostRuleScript.Entry("198.18.0.6", "uid-b"), new HostRuleScript.Entry("198.18.0.7", ""));
    assertThat(HostRuleScript.ownedBy("uid-b", entries)).containsExactly("198.18.0.6");
    assertThat(HostRuleScript.ownedBy("uid-z", entries)).isEmpty();
    assertThat(HostRuleScript.nftEntries("table inet istio-ambient-nat {\n\tset s {\n\t\ttype ipv4_addr\n\t}\n}\n")).isEmpty();
  }

  @Test
  void ipsetListing_parsed() {
    String listing = """
        Name: istio-inpod-probes-v4
        Type: hash:ip
        Revision: 6
        Header: family inet hashsize 1024 maxelem 65536 comment bucketsize 12 initval 0x1
        Size in memory: 312
        References: 1
        Number of entries: 2
        Members:
        198.18.0.5 comment "uid-a"
        198.18.0.6 comment "uid-b"
        """;
    assertThat(HostRuleScript.ipsetEntries(listing)).containsExactly(new HostRuleScript.Entry("198.18.0.5", "uid-a"),
        new HostRuleScript.Entry("198.18.0.6", "uid-b"));
  }

  @Test
  void uidsThatCouldInjectAreRejected() {
    assertThatThrownBy(() -> HostRuleScript.nftAddElements("x\" }\nflush ruleset", List.of(ip("198.18.0.5"))))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("not a pod uid");
    assertThat(HostRuleScript.checkUid("0c3a7a1e-7c1f-4a55-9f55-2d1f9f0e3b21")).isNotEmpty();
    assertThatThrownBy(() -> HostRules.nftables(null, DEFAULTS, -1)).isInstanceOf(IllegalArgumentException.class);
  }

  private static InetAddress ip(String s) {
    try {
      return InetAddress.getByName(s);
    } catch (java.io.IOException e) {
      throw new IllegalStateException(e);
    }
  }
}
