package dev.ambient.ztunnel.proxy.inbound;

import static dev.ambient.ztunnel.state.Fixtures.ip;
import static org.assertj.core.api.Assertions.assertThat;

import dev.ambient.identity.SpiffeId;
import java.net.InetSocketAddress;
import java.util.HexFormat;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** Golden bytes of the PROXY v2 header (spec §4.8). */
class ProxyProtocolV2Test {
  private static final String SIG = "0d0a0d0a000d0a515549540a";
  private static final SpiffeId ID = SpiffeId.of("cluster.local", "ns", "sa");

  private static String hex(byte[] b) {
    return HexFormat.of().formatHex(b);
  }

  @Test
  void ipv4_withIdentityTlv() {
    byte[] h = ProxyProtocolV2.encode(new InetSocketAddress(ip("198.18.0.10"), 40000),
        new InetSocketAddress(ip("198.19.0.1"), 80), Optional.of(ID));
    // "spiffe://cluster.local/ns/ns/sa/sa", 34 bytes
    String tlv = "7370696666653a2f2f636c75737465722e6c6f63616c2f6e732f6e732f73612f7361";
    assertThat(hex(h)).isEqualTo(SIG + "21" + "11" + "0031"        // v2 PROXY, TCP4, 12 + 3 + 34 = 49
        + "c612000a" + "c6130001" + "9c40" + "0050"                 // 198.18.0.10, 198.19.0.1, 40000, 80
        + "d0" + "0022" + tlv);
  }

  @Test
  void ipv4_withoutIdentity_hasNoTlv() {
    byte[] h = ProxyProtocolV2.encode(new InetSocketAddress(ip("127.0.0.1"), 1),
        new InetSocketAddress(ip("127.0.0.2"), 2), Optional.empty());
    assertThat(hex(h)).isEqualTo(SIG + "2111000c" + "7f000001" + "7f000002" + "0001" + "0002");
  }

  @Test
  void ipv6_andMixedFamilies_useTcp6WithMappedIpv4() {
    byte[] h = ProxyProtocolV2.encode(new InetSocketAddress(ip("2001:db8::1"), 1),
        new InetSocketAddress(ip("198.19.0.1"), 2), Optional.empty());
    assertThat(hex(h)).isEqualTo(SIG + "21" + "21" + "0024"
        + "20010db8000000000000000000000001" + "00000000000000000000ffffc6130001" + "0001" + "0002");
  }
}
