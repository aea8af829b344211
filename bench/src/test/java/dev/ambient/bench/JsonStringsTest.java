package dev.ambient.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import org.junit.jupiter.api.Test;

class JsonStringsTest {
  @Test
  void quotesAndEscapesWhatJsonRequires() {
    Map<String, String> table = Map.of(
        "", "\"\"",
        "plain 198.18.0.10", "\"plain 198.18.0.10\"",
        "say \"hi\"", "\"say \\\"hi\\\"\"",
        "a\\b", "\"a\\\\b\"",
        "l1\nl2\r\tx", "\"l1\\nl2\\r\\tx\"",
        "\u0001", "\"\\u0001\"",
        "µs", "\"µs\"");
    table.forEach((in, want) -> assertThat(JsonStrings.quote(in)).as(in).isEqualTo(want));
    StringBuilder b = new StringBuilder("x=");
    JsonStrings.appendQuoted(b, "y");
    assertThat(b).hasToString("x=\"y\"");
  }
}
