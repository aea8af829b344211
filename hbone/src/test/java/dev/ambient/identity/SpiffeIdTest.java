package dev.ambient.identity;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ambient.testing.LeakDetectionExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

@ExtendWith(LeakDetectionExtension.class)
class SpiffeIdTest {

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', textBlock = """
      spiffe://cluster.local/ns/default/sa/bookinfo | cluster.local | default | bookinfo
      spiffe://example.org/ns/a/sa/b                 | example.org   | a       | b
      spiffe://td/ns/with-dash/sa/sa.with.dots       | td            | with-dash | sa.with.dots
      """)
  void parse_validId_yieldsSegments(String uri, String td, String ns, String sa) {
    SpiffeId id = SpiffeId.parse(uri);

    assertThat(id).isEqualTo(SpiffeId.of(td, ns, sa));
    assertThat(id.toString()).isEqualTo(uri);
    assertThat(SpiffeId.parse(id.toString())).isEqualTo(id);
  }

  @ParameterizedTest(name = "{0} -> {1}")
  @CsvSource(delimiter = '|', textBlock = """
      http://cluster.local/ns/a/sa/b          | must start with spiffe://
      spiffe://cluster.local/ns/a             | found 3 segments
      spiffe://cluster.local/ns/a/sa          | found 4 segments
      spiffe://cluster.local/ns/a/sa/b/extra  | found 6 segments
      spiffe://cluster.local/namespace/a/sa/b | second segment must be 'ns'
      spiffe://cluster.local/ns/a/svc/b       | fourth segment must be 'sa'
      spiffe:///ns/a/sa/b                     | trust domain must not be empty
      spiffe://cluster.local/ns//sa/b         | namespace must not be empty
      spiffe://cluster.local/ns/a/sa/         | service account must not be empty
      spiffe://cluster.local/ns/a b/sa/c      | illegal character
      """)
  void parse_invalidId_rejectedWithReason(String uri, String reason) {
    assertThatThrownBy(() -> SpiffeId.parse(uri))
        .isInstanceOf(InvalidSpiffeIdException.class)
        .hasMessageContaining(uri)
        .hasMessageContaining(reason)
        .extracting(e -> ((InvalidSpiffeIdException) e).input())
        .isEqualTo(uri);
    assertThat(SpiffeId.tryParse(uri)).isEmpty();
  }

  @Test
  void parse_missingSaSegment_rejectedWithReason() {
    assertThatThrownBy(() -> SpiffeId.parse("spiffe://cluster.local/ns/default"))
        .isInstanceOf(InvalidSpiffeIdException.class)
        .hasMessageContaining("expected <trust-domain>/ns/<namespace>/sa/<service-account>");
  }

  @Test
  void of_slashInSegment_rejected() {
    assertThatThrownBy(() -> SpiffeId.of("td", "a/b", "sa"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("namespace 'a/b'");
  }

  @Test
  void tryParse_validId_present() {
    assertThat(SpiffeId.tryParse("spiffe://td/ns/a/sa/b")).contains(SpiffeId.of("td", "a", "b"));
  }
}
