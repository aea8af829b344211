package dev.ambient.ztunnel.admin;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The admin API is not reachable through a non-loopback address of the host: a throw-away veth
 * link carries a 198.18.0.0/15 address; a wildcard listener is reachable through it (control), the
 * admin server is not. Needs root; never skips.
 */
@Tag("netns")
class AdminServerNetnsTest {
  private static final String HOST_ADDRESS = "198.18.213.77";

  private String link;
  private boolean created;
  private AdminServer admin;

  @BeforeAll
  static void needsRoot() throws Exception {
    assertThat(run("id", "-u").strip()).as("netns tests need root (exclude with -DexcludedGroups=netns)").isEqualTo("0");
  }

  @BeforeEach
  void addDummyLink() throws Exception {
    link = "zadm" + Integer.toHexString(ThreadLocalRandom.current().nextInt(0x100000, 0xFFFFFF));
    // A veth pair (no dummy module on every kernel); deleting one end deletes both.
    run("ip", "link", "add", link, "type", "veth", "peer", "name", link + "p");
    created = true;
    run("ip", "addr", "add", HOST_ADDRESS + "/32", "dev", link);
    run("ip", "link", "set", link + "p", "up");
    run("ip", "link", "set", link, "up");
  }

  @AfterEach
  void cleanUp() throws Exception {
    if (admin != null) {
      admin.close();
    }
    if (!created) {
      return;
    }
    run("ip", "link", "del", link);
    assertThat(run("ip", "-o", "link", "show")).doesNotContain(link);
  }

  @Test
  void admin_notReachableOnNonLoopbackAddress_wildcardControlIs() throws Exception {
    InetAddress external = InetAddress.ofLiteral(HOST_ADDRESS);
    try (ServerSocket wildcard = new ServerSocket(0, 1, InetAddress.ofLiteral("0.0.0.0"))) {
      try (Socket s = new Socket()) {
        s.connect(new InetSocketAddress(external, wildcard.getLocalPort()), 2_000);
        assertThat(s.isConnected()).as("control: the dummy address reaches a wildcard listener").isTrue();
      }
    }

    admin = AdminServer.start(0, new ConfigDump.Sources() {}, () -> CompletableFuture.completedFuture(null),
        Duration.ofSeconds(1));
    int port = admin.localAddress().getPort();
    assertThat(Http.get(admin.localAddress(), "/").statusCode()).isEqualTo(200);
    assertThatThrownBy(() -> {
      try (Socket s = new Socket()) {
        s.connect(new InetSocketAddress(external, port), 2_000);
      }
    }).isInstanceOf(ConnectException.class);
    assertThat(admin.localAddresses()).extracting(a -> a.getAddress().isLoopbackAddress()).containsOnly(true);
  }

  private static String run(String... command) throws IOException, InterruptedException {
    Process p = new ProcessBuilder(List.of(command)).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(10, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new IOException(String.join(" ", command) + ": timed out");
    }
    if (p.exitValue() != 0) {
      throw new IOException(String.join(" ", command) + " failed (" + p.exitValue() + "): " + out);
    }
    return out;
  }
}
