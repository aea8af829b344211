package dev.ambient.testing.netns;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

/** Argument checks that run before anything is created (no root needed). */
class NetnsTopologyArgumentsTest {
  @ParameterizedTest
  @ValueSource(strings = {"", "Upper", "9lead", "has-dash", "has space", "muchtoolong"})
  void badPrefixesAreRejectedBeforeAnythingIsCreated(String prefix) {
    assertThatThrownBy(() -> NetnsTopology.create(prefix, 1))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("prefix must be");
    assertThatThrownBy(() -> NetnsTopology.cleanupLeftovers(prefix))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("prefix must be");
  }

  @Test
  void nodeCountAndSubnetAreChecked() {
    assertThatThrownBy(() -> NetnsTopology.create("ok", 0)).hasMessageContaining("nodes must be 1..200");
    assertThatThrownBy(() -> NetnsTopology.create("ok", 201)).hasMessageContaining("nodes must be 1..200");
    assertThatThrownBy(() -> NetnsTopology.create("ok", 1, 256)).hasMessageContaining("subnet octet");
  }

  @Test
  void uniquePrefixesAreValidAndFitLinuxInterfaceNames() {
    String p = NetnsTopology.uniquePrefix("l4b");
    assertThat(p).matches("l4b[0-9a-f]{4}").hasSizeLessThanOrEqualTo(NetnsTopology.MAX_PREFIX_LENGTH);
    assertThat((p + "-v199").length()).isLessThanOrEqualTo(15);
  }
}
