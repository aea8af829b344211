package dev.ambient.cni.agent.rules;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Golden tests of the iptables text against spec istio-ambient.md §2.7, and dump parsing. */
class IptablesScriptTest {
  private static final RedirectionRules.Options DNS = RedirectionRules.Options.defaults().withDnsCapture(true);

  @Test
  void v4WithDns_isExactlyTheSpecShape() throws IOException {
    assertThat(IptablesScript.restoreScript(Family.V4, DNS)).isEqualTo(resource("spec-v4-dns.rules"));
  }

  @Test
  void v6WithDns_isTheSpecShapeWithV6LoopbackAndSnat() throws IOException {
    assertThat(IptablesScript.restoreScript(Family.V6, DNS)).isEqualTo(resource("spec-v6-dns.rules"));
  }

  @Test
  void defaults_haveDnsCaptureOff_noDnsRulesAndNoRawTable() throws IOException {
    assertThat(RedirectionRules.Options.defaults().dnsCapture()).isFalse();
    String expected = resource("spec-v4-dns.rules").lines()
        .filter(l -> !l.contains("53 "))
        .collect(java.util.stream.Collectors.joining("\n", "", "\n"));
    expected = expected.substring(0, expected.indexOf("*raw"));
    assertThat(IptablesScript.restoreScript(Family.V4, RedirectionRules.Options.defaults())).isEqualTo(expected);
  }

  @Test
  void ingressMode_dropsInboundRedirectAndProbeAccept_virtualInterfacesComeFirst() {
    var options = RedirectionRules.Options.defaults().withIngressMode(true).withVirtualInterfaces(List.of("tun0"));
    List<String> nat = IptablesScript.rules(Family.V4, options).stream()
        .filter(r -> r.table().equals("nat")).map(IptablesScript.Rule::line).toList();
    assertThat(nat).containsExactly(
        "-A OUTPUT -j ISTIO_OUTPUT",
        "-A PREROUTING -j ISTIO_PRERT",
        "-A ISTIO_PRERT -i tun0 -p tcp -j REDIRECT --to-ports 15001",
        "-A ISTIO_PRERT -i tun0 -p tcp -j RETURN",
        "-A ISTIO_OUTPUT -d 169.254.7.127 -p tcp -m tcp -j ACCEPT",
        "-A ISTIO_OUTPUT -p tcp -m mark --mark 0x111/0xfff -j ACCEPT",
        "-A ISTIO_OUTPUT ! -d 127.0.0.1/32 -o lo -j ACCEPT",
        "-A ISTIO_OUTPUT ! -d 127.0.0.1/32 -p tcp -m mark ! --mark 0x539/0xfff -j REDIRECT --to-ports 15001");
  }

  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
      "-A X -s 169.254.7.127 -p tcp -m tcp -j ACCEPT | -A X -s 169.254.7.127/32 -p tcp -m tcp -j ACCEPT",
      "-A X ! -d ::1 -j ACCEPT | -A X ! -d ::1/128 -j ACCEPT",
      "-A X ! -d 127.0.0.1/32 -p tcp ! --dport 15008 -j RETURN | -A X ! -d 127.0.0.1/32 -p tcp -m tcp ! --dport 15008 -j RETURN",
      "-A X -p udp -m mark --mark 1 -m udp --dport 53 -j REDIRECT --to-port 15053 | -A X -p udp -m mark --mark 1 -m udp --dport 53 -j REDIRECT --to-ports 15053",
      "-A X -p tcp -m mark --mark 0x111/0xfff -j ACCEPT | -A X -p tcp -m mark --mark 0x111/0xfff -j ACCEPT",
  })
  void canonical_matchesIptablesSave(String input, String saved) {
    assertThat(IptablesScript.canonical(input)).isEqualTo(saved);
  }

  @Test
  void realDump_ofTheAppliedRules_comparesClean() throws IOException {
    RuleCheck check = IptablesScript.compare(IptablesScript.rules(Family.V4, DNS), resource("saved-v4-dns.txt"));
    assertThat(check.missing()).isEmpty();
    assertThat(check.extra()).isEmpty();
  }

  @Test
  void compare_reportsMissingExtraAndLeftoverChains() throws IOException {
    String save = resource("saved-v4-dns.txt")
        .replace("-A ISTIO_OUTPUT ! -d 127.0.0.1/32 -o lo -j ACCEPT\n", "")
        .replace("-A PREROUTING -j ISTIO_PRERT\n-A OUTPUT -j ISTIO_OUTPUT\n-A POSTROUTING",
            "-A PREROUTING -j ISTIO_PRERT\n-A OUTPUT -j ISTIO_OUTPUT\n-A OUTPUT -j ISTIO_OUTPUT\n-A POSTROUTING");
    RuleCheck check = IptablesScript.compare(IptablesScript.rules(Family.V4, RedirectionRules.Options.defaults()), save);
    assertThat(check.missing()).containsExactly("nat ISTIO_OUTPUT: -A ISTIO_OUTPUT ! -d 127.0.0.1/32 -o lo -j ACCEPT");
    assertThat(check.extra()).contains(
        "nat OUTPUT: -A OUTPUT -j ISTIO_OUTPUT",
        "nat ISTIO_OUTPUT: -A ISTIO_OUTPUT ! -o lo -p udp -m mark ! --mark 0x539/0xfff -m udp --dport 53 -j REDIRECT --to-ports 15053",
        "raw ISTIO_PRERT: -A ISTIO_PRERT -p udp -m mark ! --mark 0x539/0xfff -m udp --sport 53 -j CT --zone 1",
        "raw ISTIO_PRERT: chain exists");
  }

  @Test
  void compare_reportsReorderedChains() throws IOException {
    String save = resource("saved-v4-dns.txt").replace(
        "-A ISTIO_OUTPUT -p tcp -m mark --mark 0x111/0xfff -j ACCEPT\n-A ISTIO_OUTPUT ! -d 127.0.0.1/32 -o lo -j ACCEPT\n",
        "-A ISTIO_OUTPUT ! -d 127.0.0.1/32 -o lo -j ACCEPT\n-A ISTIO_OUTPUT -p tcp -m mark --mark 0x111/0xfff -j ACCEPT\n");
    assertThat(IptablesScript.compare(IptablesScript.rules(Family.V4, DNS), save).missing())
        .containsExactly("nat ISTIO_OUTPUT: rules in a different order");
  }

  @Test
  void removalScript_deletesJumpsThenFlushesAndDeletesOnlyIstioChains() throws IOException {
    assertThat(IptablesScript.removalScript(resource("saved-v4-dns.txt"))).isEqualTo("""
        *mangle
        -D PREROUTING -j ISTIO_PRERT
        -D OUTPUT -j ISTIO_OUTPUT
        -F ISTIO_OUTPUT
        -F ISTIO_PRERT
        -X ISTIO_OUTPUT
        -X ISTIO_PRERT
        COMMIT
        *raw
        -D PREROUTING -j ISTIO_PRERT
        -D OUTPUT -j ISTIO_OUTPUT
        -F ISTIO_OUTPUT
        -F ISTIO_PRERT
        -X ISTIO_OUTPUT
        -X ISTIO_PRERT
        COMMIT
        *nat
        -D PREROUTING -j ISTIO_PRERT
        -D OUTPUT -j ISTIO_OUTPUT
        -F ISTIO_OUTPUT
        -F ISTIO_PRERT
        -X ISTIO_OUTPUT
        -X ISTIO_PRERT
        COMMIT
        """);
    assertThat(IptablesScript.removalScript("*nat\n:PREROUTING ACCEPT [0:0]\n-A POSTROUTING -o eth0 -j MASQUERADE\nCOMMIT\n")).isEmpty();
  }

  @Test
  void options_rejectBadInterfaceNames() {
    assertThatThrownBy(() -> RedirectionRules.Options.defaults().withVirtualInterfaces(List.of("eth0 -j DROP")))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("not an interface name");
    assertThatThrownBy(() -> new IptablesRedirection("sh -c"))
        .isInstanceOf(IllegalArgumentException.class);
  }

  static String resource(String name) throws IOException {
    try (InputStream in = IptablesScriptTest.class.getResourceAsStream(name)) {
      assertThat(in).as(name).isNotNull();
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
  }
}
