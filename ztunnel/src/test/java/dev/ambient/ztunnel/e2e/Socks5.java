package dev.ambient.ztunnel.e2e;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.util.Arrays;
import org.jspecify.annotations.Nullable;

/** The client side of a SOCKS5 no-auth CONNECT (RFC 1928), for driving ztunnel's SOCKS5 listener. */
final class Socks5 {
  private Socks5() {}

  /**
   * Connects to the SOCKS5 listener {@code proxy} and CONNECTs to {@code target}.
   *
   * @return the connected socket (1 s read timeout per read by default, callers change it)
   * @throws IOException when the proxy refuses; the message carries the reply code
   */
  static Socket connect(InetSocketAddress proxy, InetSocketAddress target) throws IOException {
    return connect(proxy, target, null);
  }

  /** {@link #connect(InetSocketAddress, InetSocketAddress)} from {@code localBind} (null: any). */
  static Socket connect(InetSocketAddress proxy, InetSocketAddress target, @Nullable InetSocketAddress localBind)
      throws IOException {
    Socket s = new Socket();
    try {
      if (localBind != null) {
        s.bind(localBind);
      }
      s.connect(proxy, 2_000);
      s.setSoTimeout(5_000);
      s.getOutputStream().write(new byte[] {5, 1, 0});
      InputStream in = s.getInputStream();
      byte[] method = in.readNBytes(2);
      if (!Arrays.equals(method, new byte[] {5, 0})) {
        throw new IOException("SOCKS5 method negotiation failed: " + Arrays.toString(method));
      }
      byte[] ip = target.getAddress().getAddress();
      ByteArrayOutputStream req = new ByteArrayOutputStream();
      req.write(new byte[] {5, 1, 0, (byte) (ip.length == 4 ? 1 : 4)});
      req.write(ip);
      req.write(target.getPort() >> 8);
      req.write(target.getPort() & 0xff);
      s.getOutputStream().write(req.toByteArray());
      byte[] reply = in.readNBytes(10);
      if (reply.length < 2 || reply[1] != 0) {
        throw new IOException("SOCKS5 CONNECT to " + target + " refused: " + Arrays.toString(reply));
      }
      return s;
    } catch (IOException | RuntimeException e) {
      s.close();
      throw e;
    }
  }
}
