package dev.ambient.cni.agent.rules;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Golden tests of the nftables text (spec §2.7 "nftables backend") and listing comparison. */
class NftScriptTest {
  private static final PodAddresses DUAL = new PodAddresses(List.of(ip("198.18.0.5"), ip("2001:db8::5")));
  private static final PodAddresses V4 = new PodAddresses(List.of(ip("198.18.0.5")));

  @Test
  void dualStackWithDns_golden() {
    assertThat(NftScript.applyScript(DUAL, RedirectionRules.Options.defaults().withDnsCapture(true))).isEqualTo("""
        add table inet istio-ambient-nat
        delete table inet istio-ambient-nat
        add table inet istio-ambient-mangle
        delete table inet istio-ambient-mangle
        add table inet istio-ambient-raw
        delete table inet istio-ambient-raw
        table inet istio-ambient-nat {
        \tchain prerouting {
        \t\ttype nat hook prerouting priority dstnat; policy accept;
        \t\tjump istio-prerouting
        \t}
        \tchain output {
        \t\ttype nat hook output priority -100; policy accept;
        \t\tjump istio-output
        \t}
        \tchain istio-prerouting {
        \t\tip saddr 169.254.7.127 meta l4proto tcp accept
        \t\tip daddr != 127.0.0.1 tcp dport != 15008 meta mark & 0x00000fff != 0x00000539 redirect to :15006
        \t\tip6 saddr fd16:9254:7127:1337:ffff:ffff:ffff:ffff meta l4proto tcp accept
        \t\tip6 daddr != ::1 tcp dport != 15008 meta mark & 0x00000fff != 0x00000539 redirect to :15006
        \t}
        \tchain istio-output {
        \t\tip daddr 169.254.7.127 meta l4proto tcp accept
        \t\tip6 daddr fd16:9254:7127:1337:ffff:ffff:ffff:ffff meta l4proto tcp accept
        \t\toifname != "lo" udp dport 53 meta mark & 0x00000fff != 0x00000539 redirect to :15053
        \t\tip daddr != 127.0.0.1 tcp dport 53 meta mark & 0x00000fff != 0x00000539 redirect to :15053
        \t\tip6 daddr != ::1 tcp dport 53 meta mark & 0x00000fff != 0x00000539 redirect to :15053
        \t\tmeta l4proto tcp meta mark & 0x00000fff == 0x00000111 accept
        \t\tip daddr != 127.0.0.1 oifname "lo" accept
        \t\tip6 daddr != ::1 oifname "lo" accept
        \t\tip daddr != 127.0.0.1 meta l4proto tcp meta mark & 0x00000fff != 0x00000539 redirect to :15001
        \t\tip6 daddr != ::1 meta l4proto tcp meta mark & 0x00000fff != 0x00000539 redirect to :15001
        \t}
        }
        table inet istio-ambient-mangle {
        \tchain prerouting {
        \t\ttype filter hook prerouting priority mangle; policy accept;
        \t\tjump istio-prerouting
        \t}
        \tchain output {
        \t\ttype route hook output priority mangle; policy accept;
        \t\tjump istio-output
        \t}
        \tchain istio-prerouting {
        \t\tmeta mark & 0x00000fff == 0x00000539 ct mark set ct mark & 0xfffff111 | 0x00000111
        \t}
        \tchain istio-output {
        \t\tct mark & 0x00000fff == 0x00000111 meta mark set ct mark
        \t}
        }
        table inet istio-ambient-raw {
        \tchain prerouting {
        \t\ttype filter hook prerouting priority raw; policy accept;
        \t\tjump istio-prerouting
        \t}
        \tchain output {
        \t\ttype filter hook output priority raw; policy accept;
        \t\tjump istio-output
        \t}
        \tchain istio-prerouting {
        \t\tudp sport 53 meta mark & 0x00000fff != 0x00000539 ct zone set 1
        \t}
        \tchain istio-output {
        \t\tudp dport 53 meta mark & 0x00000fff == 0x00000539 ct zone set 1
        \t}
        }
        """);
  }

  @Test
  void defaults_v4Only_noRawTableNoDnsNoV6() {
    var chains = NftScript.chains(V4, RedirectionRules.Options.defaults());
    assertThat(chains).containsOnlyKeys(NftScript.NAT, NftScript.MANGLE);
    assertThat(chains.get(NftScript.NAT).get("istio-output")).noneMatch(r -> r.contains("15053") || r.contains("ip6"));
  }

  @Test
  void compare_parsesAListing_andReportsMissingExtraAndStrayTables() {
    var wanted = NftScript.chains(V4, RedirectionRules.Options.defaults());
    String nat = NftScript.applyScript(V4, RedirectionRules.Options.defaults());
    nat = nat.substring(nat.indexOf("table inet istio-ambient-nat {"), nat.indexOf("table inet istio-ambient-mangle {"))
        .replace("\t\tip daddr != 127.0.0.1 oifname \"lo\" accept\n", "\t\tip daddr 198.18.0.1 drop # handle 12\n");
    String mangle = NftScript.applyScript(V4, RedirectionRules.Options.defaults());
    mangle = mangle.substring(mangle.indexOf("table inet istio-ambient-mangle {"));
    RuleCheck check = NftScript.compare(wanted, Map.of(NftScript.NAT, nat, NftScript.MANGLE, mangle, NftScript.RAW, "table inet istio-ambient-raw {\n}\n"));
    assertThat(check.missing()).containsExactly("istio-ambient-nat istio-output: ip daddr != 127.0.0.1 oifname \"lo\" accept");
    assertThat(check.extra()).containsExactlyInAnyOrder("table inet istio-ambient-raw exists",
        "istio-ambient-nat istio-output: ip daddr 198.18.0.1 drop");
    assertThat(NftScript.compare(wanted, Map.of()).missing()).hasSize(12); // 8 nat + 4 mangle
  }

  private static InetAddress ip(String s) {
    try {
      return InetAddress.getByName(s);
    } catch (java.io.IOException e) {
      throw new IllegalStateException(e);
    }
  }
}
