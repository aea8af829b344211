package dev.ambient.ztunnel.e2e;

import static dev.ambient.ztunnel.e2e.LoopbackMesh.APP_PORT;
import static dev.ambient.ztunnel.e2e.LoopbackMesh.CLIENT_PRINCIPAL;
import static dev.ambient.ztunnel.e2e.LoopbackMesh.SERVER_IP;
import static dev.ambient.ztunnel.e2e.LoopbackMesh.TCP_IP;
import static dev.ambient.ztunnel.e2e.LoopbackMesh.UNKNOWN_IP;
import static dev.ambient.ztunnel.e2e.LoopbackMesh.VIP;
import static org.assertj.core.api.Assertions.assertThat;

import dev.ambient.testing.LeakDetectionExtension;
import dev.ambient.ztunnel.runtime.Ztunnel;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** Two ztunnels and the embedded control plane in this JVM, over loopback (see {@link LoopbackMesh}). */
@ExtendWith(LeakDetectionExtension.class)
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class InProcessMeshTest {
  @TempDir Path dir;
  private LoopbackMesh mesh;

  @BeforeEach
  void setUp() throws Exception {
    mesh = LoopbackMesh.create(dir);
  }

  @AfterEach
  void tearDown() throws Exception {
    mesh.close();
  }

  @Test
  void vipToHboneWorkload_goesThroughBothZtunnels_withMutualTls() throws Exception {
    Ztunnel a = mesh.startClient(Map.of());
    Ztunnel b = mesh.startServer(Map.of());
    try (Socket s = Socks5.connect(LoopbackMesh.socks5(a), new InetSocketAddress(VIP, 80))) {
      assertThat(roundTrip(s, "hello via vip")).isEqualTo("hello via vip");
    }
    assertThat(mesh.serverEcho.accepted()).isEqualTo(1);
    String scrape = b.metrics().scrape(null).body();
    System.out.println(scrape);
    assertThat(scrape).containsPattern("istio_tcp_connections_opened_total\\{[^}]*reporter=\"destination\"[^}]*");
  }

  static String roundTrip(Socket s, String text) throws Exception {
    OutputStream out = s.getOutputStream();
    InputStream in = s.getInputStream();
    byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
    out.write(bytes);
    out.flush();
    return new String(in.readNBytes(bytes.length), StandardCharsets.UTF_8);
  }
}
