package dev.ambient.xds.config;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ambient.xds.api.workload.Address;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Property: whatever sequence of file edits, adds, deletes and breakages came before, an incremental
 * {@link ConfigDirectory#load()} equals a from-scratch assembly of the same directory state (the previous,
 * non-incremental assembler, kept as {@link ReferenceAssembler}, and a fresh {@code ConfigDirectory}),
 * resource by resource, with the same errors and warnings in the same order; and its change set names every
 * resource that is not the same instance as in the previous load.
 */
class IncrementalAssemblyTest {
  static final int STEPS = 80;

  @TempDir Path dir;

  @ParameterizedTest
  @ValueSource(longs = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20})
  void randomEdits_incrementalLoadEqualsAFromScratchAssembly(long seed) throws IOException {
    RandomConfigFiles files = new RandomConfigFiles(dir, seed);
    ConfigDirectory incremental = ConfigDirectory.of(dir);
    ConfigSnapshot previous = ConfigSnapshot.EMPTY;
    List<String> history = new ArrayList<>();
    Coverage coverage = new Coverage();
    for (int i = 0; i < STEPS; i++) {
      history.add(files.step());
      String context = "seed " + seed + " after " + history;
      ConfigLoadResult got = incremental.load();
      ConfigLoadResult expected = ReferenceAssembler.assemble(files.lastGoodDocuments(),
          IstioTranslator.DEFAULT_ROOT_NAMESPACE, new ArrayList<>());

      assertSameResources(got.snapshot(), expected.snapshot(), context);
      assertThat(got.warnings()).as(context).isEqualTo(expected.warnings());
      assertThat(got.errors()).as(context).hasSize(files.badFiles() + expected.errors().size());
      assertThat(got.errors().subList(files.badFiles(), got.errors().size())).as(context)
          .isEqualTo(expected.errors());
      if (files.badFiles() == 0) {
        ConfigLoadResult fresh = ConfigDirectory.of(dir).load();
        assertSameResources(got.snapshot(), fresh.snapshot(), context);
        assertThat(got.errors()).as(context).isEqualTo(fresh.errors());
        assertThat(got.warnings()).as(context).isEqualTo(fresh.warnings());
      }
      assertChangesNameEverythingNotIdentical(previous, got, context);
      coverage.count(got);
      previous = got.snapshot();
    }
    // the sequence exercised what it is meant to (not only empty or broken directories)
    assertThat(coverage.boundBySelector).as("steps with a selector-bound workload").isPositive();
    assertThat(coverage.duplicates).as("steps with a duplicate error").isPositive();
    assertThat(coverage.peerAuthentications).as("steps with a converted PeerAuthentication").isPositive();
    assertThat(coverage.changedSomething).as("steps that changed something").isGreaterThan(STEPS / 4);
  }

  @ParameterizedTest
  @ValueSource(longs = {101, 102, 103})
  void randomEdits_withWarmUps_stillEqualAFromScratchAssembly(long seed) throws IOException {
    RandomConfigFiles files = new RandomConfigFiles(dir, seed);
    ConfigDirectory incremental = ConfigDirectory.of(dir);
    for (int i = 0; i < STEPS; i++) {
      String step = files.step();
      incremental.warmUp();
      ConfigLoadResult got = incremental.load();
      ConfigLoadResult expected = ReferenceAssembler.assemble(files.lastGoodDocuments(),
          IstioTranslator.DEFAULT_ROOT_NAMESPACE, new ArrayList<>());
      assertSameResources(got.snapshot(), expected.snapshot(), "seed " + seed + " step " + i + " " + step);
    }
  }

  private static void assertSameResources(ConfigSnapshot got, ConfigSnapshot expected, String context) {
    assertThat(got.addresses().keySet()).as(context).isEqualTo(expected.addresses().keySet());
    expected.addresses().forEach((name, a) -> {
      assertThat(got.addresses().get(name)).as(context + ": address " + name).isEqualTo(a);
      assertThat(got.aliases().get(name)).as(context + ": aliases of " + name).isEqualTo(expected.aliases().get(name));
    });
    assertThat(got.aliases().keySet()).as(context).isEqualTo(expected.aliases().keySet());
    assertThat(got.policies().keySet()).as(context).isEqualTo(expected.policies().keySet());
    expected.policies().forEach((name, p) ->
        assertThat(got.policies().get(name)).as(context + ": policy " + name).isEqualTo(p));
    assertThat(got).as(context).isEqualTo(expected);
  }

  private static void assertChangesNameEverythingNotIdentical(ConfigSnapshot before, ConfigLoadResult after,
      String context) {
    check(before.addresses(), after.snapshot().addresses(), after.changes().addresses(), context + " (addresses)");
    check(before.aliases(), after.snapshot().aliases(), after.changes().addresses(), context + " (aliases)");
    check(before.policies(), after.snapshot().policies(), after.changes().policies(), context + " (policies)");
    // and names only what changed in content or presence, or was rebuilt
    for (String name : after.changes().addresses()) {
      assertThat(before.addresses().get(name)).as(context + ": listed as changed " + name)
          .isNotSameAs(after.snapshot().addresses().get(name));
    }
  }

  private static <V> void check(Map<String, V> before, Map<String, V> after, Set<String> changed, String context) {
    Set<String> names = new HashSet<>(before.keySet());
    names.addAll(after.keySet());
    for (String name : names) {
      if (!changed.contains(name)) {
        assertThat(after.get(name)).as(context + ": " + name + " is not listed as changed").isSameAs(before.get(name));
      }
    }
  }

  private static final class Coverage {
    int boundBySelector;
    int duplicates;
    int changedSomething;
    int peerAuthentications;

    void count(ConfigLoadResult r) {
      for (Address a : r.snapshot().addresses().values()) {
        if (a.hasWorkload() && a.getWorkload().getAuthorizationPoliciesList().stream()
            .anyMatch(p -> p.contains("/ap"))) {
          boundBySelector++;
          break;
        }
      }
      if (r.errors().stream().anyMatch(e -> e.reason().startsWith("duplicate"))) {
        duplicates++;
      }
      if (r.snapshot().policies().keySet().stream().anyMatch(p -> p.contains("istio_converted"))) {
        peerAuthentications++;
      }
      if (!r.changes().addresses().isEmpty() || !r.changes().policies().isEmpty()) {
        changedSomething++;
      }
    }
  }
}
