package dev.ambient.net;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollServerSocketChannel;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteOrder;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** The parts of {@link LinuxSockets} that need no privileges. */
class LinuxSocketsTest {
  private static final int CLOSED_FD = 1_000_000; // above any descriptor this JVM has open

  @Test
  void decodeSockaddr_ipv4() throws Exception {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment sa = arena.allocate(28);
      sa.set(JAVA_SHORT, 0, (short) LinuxSockets.AF_INET);
      sa.set(JAVA_SHORT.withOrder(ByteOrder.BIG_ENDIAN), 2, (short) 8080);
      MemorySegment.copy(new byte[] {(byte) 198, 18, (byte) 250, 9}, 0, sa, JAVA_BYTE, 4, 4);
      assertThat(LinuxSockets.decodeSockaddr(sa, 16))
          .isEqualTo(new InetSocketAddress(InetAddress.getByName("198.18.250.9"), 8080));
    }
  }

  @Test
  void decodeSockaddr_ipv6_andHighPortIsUnsigned() throws Exception {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment sa = arena.allocate(28);
      sa.set(JAVA_SHORT, 0, (short) LinuxSockets.AF_INET6);
      sa.set(JAVA_SHORT.withOrder(ByteOrder.BIG_ENDIAN), 2, (short) 65000);
      byte[] ip = InetAddress.getByName("2001:db8::9").getAddress();
      MemorySegment.copy(ip, 0, sa, JAVA_BYTE, 8, 16);
      assertThat(LinuxSockets.decodeSockaddr(sa, 28))
          .isEqualTo(new InetSocketAddress(InetAddress.getByName("2001:db8::9"), 65000));
    }
  }

  @Test
  void decodeSockaddr_ipv4MappedBecomesIpv4() throws Exception {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment sa = arena.allocate(28);
      sa.set(JAVA_SHORT, 0, (short) LinuxSockets.AF_INET6);
      sa.set(JAVA_SHORT.withOrder(ByteOrder.BIG_ENDIAN), 2, (short) 443);
      byte[] ip = new byte[16];
      ip[10] = (byte) 0xff;
      ip[11] = (byte) 0xff;
      ip[12] = (byte) 198;
      ip[13] = 18;
      ip[14] = 0;
      ip[15] = 7;
      MemorySegment.copy(ip, 0, sa, JAVA_BYTE, 8, 16);
      InetSocketAddress decoded = LinuxSockets.decodeSockaddr(sa, 28);
      assertThat(decoded.getAddress().getAddress()).hasSize(4);
      assertThat(decoded).isEqualTo(new InetSocketAddress(InetAddress.getByName("198.18.0.7"), 443));
    }
  }

  @Test
  void decodeSockaddr_unknownFamily_isAnError() {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment sa = arena.allocate(28);
      sa.set(JAVA_SHORT, 0, (short) 1); // AF_UNIX
      assertThatThrownBy(() -> LinuxSockets.decodeSockaddr(sa, 28))
          .isInstanceOf(IOException.class).hasMessageContaining("address family 1");
    }
  }

  @Test
  void originalDestination_ofASocketWithoutConntrackEntry_isEmpty() throws Exception {
    assertThat(Epoll.isAvailable()).as("epoll: %s", Epoll.unavailabilityCause()).isTrue();
    EpollServerSocketChannel ch = new EpollServerSocketChannel(); // a socket, never connected
    try {
      assertThat(LinuxSockets.originalDestination(ch.fd().intValue())).isEmpty();
    } finally {
      ch.unsafe().closeForcibly();
    }
  }

  @Test
  void errors_nameTheCallTheOptionAndErrno() {
    assertThatThrownBy(() -> LinuxSockets.mark(CLOSED_FD))
        .isInstanceOf(IOException.class)
        .hasMessage("getsockopt(" + CLOSED_FD + ", SOL_SOCKET, SO_MARK) failed: errno 9 (Bad file descriptor)");
    assertThatThrownBy(() -> LinuxSockets.setMark(CLOSED_FD, 1337))
        .hasMessageContaining("setsockopt(" + CLOSED_FD + ", SOL_SOCKET, SO_MARK, 1337) failed: errno 9");
    assertThatThrownBy(() -> LinuxSockets.originalDestination(CLOSED_FD))
        .hasMessageContaining("SO_ORIGINAL_DST").hasMessageContaining("errno 9 (Bad file descriptor)");
    assertThatThrownBy(() -> LinuxSockets.trySetTransparent(CLOSED_FD, true))
        .hasMessageContaining("IPV6_TRANSPARENT").hasMessageContaining("errno 9");
    assertThatThrownBy(() -> LinuxSockets.setFreebind(CLOSED_FD))
        .hasMessageContaining("IP_FREEBIND").hasMessageContaining("errno 9");
  }

  @Test
  void netNamespace_open_missingPath_saysWhich() {
    assertThatThrownBy(() -> LinuxSockets.NetNamespace.open(Path.of("/var/run/netns/ambient-does-not-exist")))
        .isInstanceOf(IOException.class)
        .hasMessage("open(/var/run/netns/ambient-does-not-exist) failed: errno 2 (No such file or directory)");
  }

  @Test
  void freebind_isSetOnARealSocket() throws Exception {
    EpollServerSocketChannel ch = new EpollServerSocketChannel();
    try {
      int fd = ch.fd().intValue();
      assertThat(LinuxSockets.isFreebind(fd)).isFalse();
      LinuxSockets.setFreebind(fd);
      assertThat(LinuxSockets.isFreebind(fd)).isTrue();
    } finally {
      ch.unsafe().closeForcibly();
    }
  }
}
