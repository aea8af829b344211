package dev.ambient.xds.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetSocketAddress;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class ControlPlaneMainTest {
  @Test
  void listen_parsesV4V6AndRejectsGarbage() {
    assertThat(ControlPlaneMain.parseListen("127.0.0.1:15012"))
        .isEqualTo(new InetSocketAddress("127.0.0.1", 15012));
    InetSocketAddress v6 = ControlPlaneMain.parseListen("[::1]:0");
    assertThat(v6.getAddress().isLoopbackAddress()).isTrue();
    assertThat(v6.getPort()).isZero();
    assertThatThrownBy(() -> ControlPlaneMain.parseListen("15012")).isInstanceOf(CommandLine.TypeConversionException.class);
    assertThatThrownBy(() -> ControlPlaneMain.parseListen("127.0.0.1:http")).hasMessageContaining("not a number");
    assertThatThrownBy(() -> ControlPlaneMain.parseListen("127.0.0.1:70000")).hasMessageContaining("out of range");
  }

  @Test
  void options_defaultToLoopback15012() {
    ControlPlaneMain main = new ControlPlaneMain();
    new CommandLine(main).parseArgs("--config", "/tmp/x");
    assertThat(ControlPlaneMain.parseListen(main.listen)).isEqualTo(new InetSocketAddress("127.0.0.1", 15012));
    assertThat(main.stateDir.toString()).endsWith("ambient/control-plane");
    assertThat(main.caDir).isNull();
  }

  @Test
  void missingConfig_isAUsageError() {
    assertThat(ControlPlaneMain.run()).isEqualTo(2);
  }
}
