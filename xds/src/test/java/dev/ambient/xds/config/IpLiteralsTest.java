package dev.ambient.xds.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class IpLiteralsTest {
  @ParameterizedTest
  @CsvSource({
      "198.18.0.1, 198.18.0.1", "0.0.0.0, 0.0.0.0", "::, ::", "::1, ::1", "2001:DB8:0:0:0:0:0:1, 2001:db8::1",
      "2001:db8:0:0:1:0:0:1, 2001:db8::1:0:0:1", "2001:db8:0:1:1:1:1:1, 2001:db8:0:1:1:1:1:1",
      "fe80::, fe80::", "::ffff:1.2.3.4, ::ffff:102:304"})
  void literal_parsesAndFormatsCanonically(String in, String out) {
    assertThat(IpLiterals.format(ByteString.copyFrom(IpLiterals.parse(in)))).isEqualTo(out);
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "localhost", "198.18.0", "198.18.0.1.2", "010.0.0.1", "256.0.0.1", "1.2.3.-4", "[::1]",
      "fe80::1%eth0", "1::2::3", "198.18.0.1 "})
  void nonLiteral_isRejected(String in) {
    assertThatThrownBy(() -> IpLiterals.parse(in)).isInstanceOf(IllegalArgumentException.class);
  }

  @ParameterizedTest
  @CsvSource({"198.18.0.0/15, 15", "198.18.0.1, 32", "::/0, 0", "2001:db8::1, 128"})
  void cidr_hasItsLength(String in, int length) {
    assertThat(IpLiterals.Cidr.parse(in).length()).isEqualTo(length);
  }

  @ParameterizedTest
  @ValueSource(strings = {"198.18.0.0/33", "198.18.0.0/", "198.18.0.0/-1", "::/129", "198.18.0.0/15/8"})
  void badCidr_isRejected(String in) {
    assertThatThrownBy(() -> IpLiterals.Cidr.parse(in)).isInstanceOf(IllegalArgumentException.class);
  }
}
