package dev.ambient.cni.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ambient.cni.agent.RulesBackend.Facts;
import dev.ambient.cni.agent.RulesBackend.Kind;
import dev.ambient.cni.agent.rules.RedirectionRules;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** The agent's pure decisions: rule backend, per-pod options, kubelet detection, flags. */
class AgentDecisionsTest {
  private static final Facts ALL = new Facts(true, true, true, false, false);
  private static final Facts NO_IPSET = new Facts(true, false, true, false, false);
  private static final Facts ISTIO_IPSETS = new Facts(true, true, true, true, false);
  private static final Facts ISTIO_TABLE = new Facts(true, true, true, false, true);
  private static final Facts NFT_NO_JSON = new Facts(true, true, false, false, false);
  private static final Facts NOTHING = new Facts(false, false, false, false, false);

  static Stream<Arguments> backends() {
    return Stream.of(
        Arguments.of(Kind.IPTABLES, ALL, Kind.IPTABLES, false),
        Arguments.of(Kind.IPTABLES, NO_IPSET, Kind.IPTABLES, true),
        Arguments.of(Kind.NFTABLES, ALL, Kind.NFTABLES, false),
        Arguments.of(Kind.NFTABLES, ISTIO_IPSETS, Kind.IPTABLES, false),
        Arguments.of(Kind.NFTABLES, NFT_NO_JSON, Kind.IPTABLES, false),
        Arguments.of(Kind.AUTO, ALL, Kind.IPTABLES, false),
        Arguments.of(Kind.AUTO, ISTIO_TABLE, Kind.NFTABLES, false),
        Arguments.of(Kind.AUTO, ISTIO_IPSETS, Kind.IPTABLES, false),
        Arguments.of(Kind.AUTO, NO_IPSET, Kind.NFTABLES, false),
        Arguments.of(Kind.AUTO, NOTHING, Kind.AUTO, true));
  }

  @ParameterizedTest(name = "{0} with {1} -> {2} (error: {3})")
  @MethodSource("backends")
  void rulesBackend_choice(Kind requested, Facts facts, Kind expected, boolean error) {
    RulesBackend.Choice c = RulesBackend.choose(requested, facts);
    assertThat(c.kind()).isEqualTo(expected);
    assertThat(c.error() != null).as(c.toString()).isEqualTo(error);
  }

  static Stream<Arguments> podOptions() {
    RedirectionRules.Options d = RedirectionRules.Options.defaults();
    return Stream.of(
        Arguments.of(Map.of(), d),
        Arguments.of(Map.of(PodOptions.DNS_CAPTURE, "true"), d.withDnsCapture(true)),
        Arguments.of(Map.of(PodOptions.DNS_CAPTURE, "False"), d),
        Arguments.of(Map.of(PodOptions.DNS_CAPTURE, "yes"), d),
        Arguments.of(Map.of(PodOptions.BYPASS_INBOUND, "true"), d.withIngressMode(true)),
        Arguments.of(Map.of(PodOptions.BYPASS_INBOUND, "nope"), d),
        Arguments.of(Map.of(PodOptions.VIRTUAL_INTERFACES, "tap0, net1,,"), d.withVirtualInterfaces(List.of("tap0", "net1"))),
        Arguments.of(Map.of(PodOptions.VIRTUAL_INTERFACES, "ok0,bad name;rm"), d.withVirtualInterfaces(List.of("ok0"))));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("podOptions")
  void podAnnotations_overrideTheDefaults(Map<String, String> annotations, RedirectionRules.Options expected) {
    assertThat(PodOptions.forPod(RedirectionRules.Options.defaults(), annotations)).isEqualTo(expected);
  }

  @Test
  void podDnsAnnotation_canTurnOffTheGlobalDefault() {
    RedirectionRules.Options on = RedirectionRules.Options.defaults().withDnsCapture(true);
    assertThat(PodOptions.forPod(on, Map.of(PodOptions.DNS_CAPTURE, "false")).dnsCapture()).isFalse();
    assertThat(PodOptions.forPod(on, Map.of(PodOptions.DNS_CAPTURE, "maybe")).dnsCapture()).isTrue();
  }

  @Test
  void kubeletDetection() {
    assertThat(KubeletUid.isKubelet("kubelet\n", "/usr/bin/kubelet\0--config=/x\0")).isTrue();
    assertThat(KubeletUid.isKubelet("kubelite", "")).isTrue();
    assertThat(KubeletUid.isKubelet("k3s-server", "k3s\0server\0")).isTrue();
    assertThat(KubeletUid.isKubelet("hyperkube", "/hyperkube/kubelet\0")).isTrue();
    assertThat(KubeletUid.isKubelet("grep", "grep\0kubelet\0")).isFalse();
    assertThat(KubeletUid.isKubelet("bash", "")).isFalse();
  }

  @Test
  void rulesFlag_andNativeNftablesEnv() {
    assertThat(AgentMain.rulesKind(null, null)).isEqualTo(Kind.AUTO);
    assertThat(AgentMain.rulesKind(null, "true")).isEqualTo(Kind.NFTABLES);
    assertThat(AgentMain.rulesKind("iptables", "true")).isEqualTo(Kind.IPTABLES);
    assertThat(AgentMain.rulesKind(" NFTables ", null)).isEqualTo(Kind.NFTABLES);
    assertThatThrownBy(() -> AgentMain.rulesKind("ebpf", null)).hasMessageContaining("iptables, nftables or auto");
  }

  @Test
  void flags_parseIntoTheConfig_andANodeNameIsRequired() {
    AgentMain m = new AgentMain();
    new picocli.CommandLine(m).parseArgs("--node-name", "node-a", "--run-dir", "/tmp/r", "--zds-socket", "/tmp/z.sock",
        "--rules", "nftables", "--dns-capture", "--excluded-namespaces", "kube-system, lab", "--no-install",
        "--no-status-subresource", "--healthz-port", "-1", "--kubelet-uid", "7");
    AgentConfig c = m.config();
    assertThat(c.nodeName()).isEqualTo("node-a");
    assertThat(c.pluginEventSocket()).hasToString("/tmp/r/pluginevent.sock");
    assertThat(c.zdsSocket()).hasToString("/tmp/z.sock");
    assertThat(c.rules()).isEqualTo(Kind.NFTABLES);
    assertThat(c.ruleOptions().dnsCapture()).isTrue();
    assertThat(c.excludedNamespaces()).containsExactlyInAnyOrder("kube-system", "lab");
    assertThat(c.install()).isFalse();
    assertThat(c.statusSubresource()).isFalse();
    assertThat(c.serverFieldSelector()).isTrue();
    assertThat(c.healthz()).isNull();
    assertThat(c.kubeletUid()).isEqualTo(7);

    AgentMain none = new AgentMain();
    new picocli.CommandLine(none).parseArgs("--node-name", "");
    assertThatThrownBy(none::config).hasMessageContaining("--node-name");
  }

  @Test
  void netnsIsRecordedWithTheState() {
    assertThat(RedirectionAnnotation.ENABLED.patch("/var/run/netns/p1")).isEqualTo(
        "{\"metadata\":{\"annotations\":{\"ambient.istio.io/redirection\":\"enabled\",\"cni.ambient.dev/netns\":\"/var/run/netns/p1\"}}}");
    assertThat(RedirectionAnnotation.PENDING.patch("")).isEqualTo(RedirectionAnnotation.PENDING.patch());
  }
}
