package dev.ambient.ztunnel.proxy.outbound;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.HexFormat;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The SOCKS5 greeting and request parsers (RFC 1928, spec §5.7), as tables of hex input. */
class Socks5ParseTest {
  private static ByteBuf hex(String s) {
    return Unpooled.wrappedBuffer(HexFormat.of().parseHex(s.replace(" ", "")));
  }

  @ParameterizedTest(name = "greeting {0} -> {1}")
  @CsvSource({
      "'05',             need",
      "'05 02 00',       need",
      "'05 01 00',       reply 0500 open",
      "'05 02 02 00',    reply 0500 open",
      "'05 01 02',       reply 05ff close",
      "'04 01 00',       reply '' close",
  })
  void greeting(String input, String expected) {
    ByteBuf in = hex(input);
    try {
      assertThat(describe(Socks5Proxy.greeting(in))).isEqualTo(expected);
    } finally {
      in.release();
    }
  }

  @ParameterizedTest(name = "request {0} -> {1}")
  @CsvSource({
      "'05 01 00 01 7f 00 00 04 1f 90',                                     connect 127.0.0.4:8080",
      "'05 01 00 04 20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 01 00 50', connect 2001:db8:0:0:0:0:0:1:80",
      "'05 01 00 04 00 00 00 00 00 00 00 00 00 00 ff ff c6 12 00 01 00 50', connect 198.18.0.1:80",
      "'05 01 00 01 7f 00',                                                 need",
      "'05 01 00',                                                          need",
      "'05 02 00 01 7f 00 00 04 1f 90',                                     reply 05070001000000000000 close",
      "'05 01 00 03 07 65 78 61 6d 70 6c 65 00 50',                         reply 05080001000000000000 close",
      "'04 01 00 01 7f 00 00 04 1f 90',                                     reply 05010001000000000000 close",
  })
  void request(String input, String expected) {
    ByteBuf in = hex(input);
    try {
      assertThat(describe(Socks5Proxy.request(in))).isEqualTo(expected);
    } finally {
      in.release();
    }
  }

  private static String describe(Socks5Proxy.Step step) {
    return switch (step) {
      case Socks5Proxy.Step.NeedMore n -> "need";
      case Socks5Proxy.Step.Reply r -> "reply " + (r.reply().length == 0 ? "''" : HexFormat.of().formatHex(r.reply()))
          + (r.close() ? " close" : " open");
      case Socks5Proxy.Step.Connect c -> "connect " + address(c.target());
    };
  }

  private static String address(InetSocketAddress a) {
    InetAddress ip = a.getAddress();
    return ip.getHostAddress() + ":" + a.getPort();
  }
}
