package dev.ambient.lab;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class LabLayoutTest {
  private final LabLayout lab = new LabLayout("alb00f3", 3, 0);

  @Test
  void nodesAreOnTheBridgeSubnetAndPodsOnePerNodeSubnet() {
    assertThat(lab.bridge()).isEqualTo("alb00f3-br");
    assertThat(lab.bridgeAddress()).isEqualTo("198.18.0.1");
    assertThat(lab.nodeNetns(2)).isEqualTo("alb00f3-n2");
    assertThat(lab.nodeAddress(2)).isEqualTo("198.18.0.12");
    assertThat(lab.nodeName(1)).isEqualTo("node-1");
    assertThat(lab.podCidr(0)).isEqualTo("198.18.1.0/24");
    assertThat(lab.podGateway(2)).isEqualTo("198.18.3.1");
    assertThat(lab.podAddress(1, 7)).isEqualTo("198.18.2.7");
    assertThat(lab.podNetns("shop", "web")).isEqualTo("alb00f3-shop-web");
    assertThat(LabLayout.podVeth(254)).hasSizeLessThanOrEqualTo(15);
    assertThat(lab.hostVeth(2)).hasSizeLessThanOrEqualTo(15);
  }

  @Test
  void anotherSubnetMovesEveryAddressButStaysIn198dot18() {
    LabLayout other = new LabLayout("alb00f3", 2, 150);
    assertThat(other.bridgeAddress()).isEqualTo("198.18.150.1");
    assertThat(other.nodeAddress(1)).isEqualTo("198.18.150.11");
    assertThat(other.podCidr(1)).isEqualTo("198.18.152.0/24");
    assertThatThrownBy(() -> new LabLayout("alb00f3", 10, 250)).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void nodeNamesResolveToIndexesAndUnknownNodesAreAClearError() {
    assertThat(lab.nodeIndex("node-2")).isEqualTo(2);
    assertThat(lab.nodeIndex("0")).isZero();
    assertThatThrownBy(() -> lab.nodeIndex("node-3")).hasMessageContaining("no node 'node-3'")
        .hasMessageContaining("node-0 .. node-2");
    assertThatThrownBy(() -> lab.nodeIndex("worker")).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void badPrefixesNodeCountsAndPodOctetsAreRejected() {
    assertThatThrownBy(() -> new LabLayout("lab1234", 1, 0)).hasMessageContaining("prefix");
    assertThatThrownBy(() -> new LabLayout("alb00f3", 0, 0)).hasMessageContaining("--nodes");
    assertThatThrownBy(() -> new LabLayout("alb00f3", 51, 0)).hasMessageContaining("--nodes");
    assertThatThrownBy(() -> lab.podAddress(0, 1)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> lab.podAddress(0, 255)).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void randomPrefixesMatchWhatDownCleansUp() {
    LabLayout r = LabLayout.random(2, 0);
    assertThat(r.prefix()).matches(LabLayout.PREFIX.pattern()).startsWith(LabLayout.PREFIX_BASE);
  }
}
