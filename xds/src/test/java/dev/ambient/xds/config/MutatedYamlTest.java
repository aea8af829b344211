package dev.ambient.xds.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * A seeded, bounded stand-in for a coverage-guided fuzzer: valid documents are mutated at random (characters
 * that matter to YAML inserted, deleted, lines duplicated or swapped, text cut short) and fed to the parsers
 * and the snapshot assembly. Bad input must only ever produce a {@link ConfigException}.
 */
class MutatedYamlTest {
  static final long SEED = 0x5eed_c0f1_9L;
  static final int ITERATIONS = 3000;
  static final String ALPHABET = ":-[]{}'\"#&*!|>~,?%@`\n \t0123456789/.aZ";

  static final List<String> CORPUS = List.of(
      LocalConfigParserTest.LOCALHOST, ConfigDirectoryTest.WORKLOADS, ConfigDirectoryTest.POLICIES,
      PeerAuthenticationTranslatorTest.pa("ns", "w",
          "{selector: {matchLabels: {app: a}}, mtls: {mode: STRICT}, portLevelMtls: {8080: {mode: PERMISSIVE}}}"),
      """
      policies:
      - {name: p, namespace: n, scope: Global, action: Deny, dryRun: false,
         rules: [[[{principals: [Presence, {Exact: a}], sourceIps: ["198.18.0.0/15"], destinationPorts: [80]}]]]}
      """);

  @Test
  void mutatedYaml_onlyEverGivesAResultOrAConfigError() {
    Random random = new Random(SEED);
    long deadline = System.nanoTime() + Duration.ofSeconds(4).toNanos();
    int rejected = 0;
    int run = 0;
    for (; run < ITERATIONS && System.nanoTime() < deadline; run++) {
      String input = mutate(CORPUS.get(random.nextInt(CORPUS.size())), random);
      try {
        List<ConfigDocument> docs = ConfigDocument.parseAll(input);
        ConfigLoadResult r = SnapshotAssembler.assemble(Map.of(Path.of("f.yaml"), docs), "istio-system",
            new ArrayList<>());
        assertThat(r.snapshot()).isNotNull();
      } catch (ConfigException e) {
        rejected++;
        assertThat(e.reason()).isNotBlank();
      } catch (RuntimeException | StackOverflowError e) {
        fail("iteration " + run + " threw " + e + " for input:\n" + input, e);
      }
    }
    assertThat(run).as("iterations run within the time budget").isGreaterThan(500);
    assertThat(rejected).as("mutations that were rejected").isPositive().isLessThan(run);
  }

  @Test
  void pathologicalYaml_isAConfigError() {
    List<String> inputs = List.of(
        "workloads: " + "[".repeat(20_000),
        "workloads: " + "[".repeat(5_000) + "]".repeat(5_000),
        "a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
            + "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n",
        "\u0000", "workloads: [{uid: \"\\uD800\"}]", "--- !!binary x", "%YAML 9.9\n---\na: 1");
    for (String input : inputs) {
      try {
        ConfigDocument.parseAll(input);
      } catch (ConfigException e) {
        assertThat(e.reason()).isNotBlank();
      } catch (RuntimeException | StackOverflowError e) {
        fail("threw " + e + " for input starting " + input.substring(0, Math.min(80, input.length())), e);
      }
    }
  }

  static String mutate(String text, Random random) {
    StringBuilder sb = new StringBuilder(text);
    int edits = 1 + random.nextInt(4);
    for (int i = 0; i < edits && !sb.isEmpty(); i++) {
      int at = random.nextInt(sb.length());
      switch (random.nextInt(6)) {
        case 0 -> sb.insert(at, ALPHABET.charAt(random.nextInt(ALPHABET.length())));
        case 1 -> sb.deleteCharAt(at);
        case 2 -> sb.setCharAt(at, ALPHABET.charAt(random.nextInt(ALPHABET.length())));
        case 3 -> sb.setLength(at);
        case 4 -> {
          List<String> lines = new ArrayList<>(List.of(sb.toString().split("\n", -1)));
          int a = random.nextInt(lines.size());
          lines.add(random.nextInt(lines.size() + 1), lines.get(a));
          sb = new StringBuilder(String.join("\n", lines));
        }
        default -> {
          List<String> lines = new ArrayList<>(List.of(sb.toString().split("\n", -1)));
          java.util.Collections.swap(lines, random.nextInt(lines.size()), random.nextInt(lines.size()));
          sb = new StringBuilder(String.join("\n", lines));
        }
      }
    }
    return sb.toString();
  }
}
