package dev.ambient.ztunnel.proxy.outbound;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;

/** The client side of a SOCKS5 no-auth CONNECT, for tests. */
final class Socks5Client {
  private Socks5Client() {}

  /** Negotiates no-auth and CONNECTs to {@code target}; asserts success replies. */
  static void connect(Socket s, InetSocketAddress target) throws IOException {
    s.getOutputStream().write(new byte[] {5, 1, 0});
    InputStream in = s.getInputStream();
    assertThat(in.readNBytes(2)).containsExactly(5, 0);
    byte[] ip = target.getAddress().getAddress();
    ByteArrayOutputStream req = new ByteArrayOutputStream();
    req.write(new byte[] {5, 1, 0, (byte) (ip.length == 4 ? 1 : 4)});
    req.write(ip);
    req.write(target.getPort() >> 8);
    req.write(target.getPort() & 0xff);
    s.getOutputStream().write(req.toByteArray());
    assertThat(in.readNBytes(10)).containsExactly(5, 0, 0, 1, 0, 0, 0, 0, 0, 0);
  }
}
