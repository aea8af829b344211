package dev.ambient.net;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Optional;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

class TransportTest {
  @ParameterizedTest
  @CsvSource({"io_uring, IO_URING", "IO-URING, IO_URING", "iouring, IO_URING", "epoll, EPOLL", " nio , NIO"})
  void parse_acceptsTheDocumentedNames(String text, Transport expected) {
    assertThat(Transport.parse(text)).isEqualTo(expected);
  }

  @Test
  void parse_unknownName_saysWhatIsAccepted() {
    assertThatThrownBy(() -> Transport.parse("kqueue"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("kqueue").hasMessageContaining("io_uring, epoll or nio");
  }

  @Test
  void select_withoutOverride_takesTheFirstAvailableInPreferenceOrder() {
    Transport chosen = Transport.select(Optional.empty());
    assertThat(chosen.isAvailable()).isTrue();
    for (Transport t : Transport.values()) {
      if (t == chosen) {
        break;
      }
      assertThat(t.isAvailable()).as("%s is preferred over %s, so it must be unavailable", t, chosen).isFalse();
    }
  }

  @Test
  void select_withOverride_honoursIt() {
    assertThat(Transport.select(Optional.of("nio"))).isEqualTo(Transport.NIO);
  }

  @Test
  void epoll_isAvailableOnLinux() {
    // The native epoll jar for linux-x86_64 is bundled; if this fails the build lost it.
    assertThat(Transport.EPOLL.isAvailable()).as(String.valueOf(Transport.EPOLL.unavailabilityCause())).isTrue();
  }
}
