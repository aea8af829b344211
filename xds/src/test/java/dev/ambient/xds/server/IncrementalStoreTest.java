package dev.ambient.xds.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ambient.xds.api.Rpc;
import dev.ambient.xds.config.ConfigDirectory;
import dev.ambient.xds.config.ConfigLoadResult;
import dev.ambient.xds.config.RandomConfigFiles;
import java.io.IOException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Property: the control plane's in-place path (the loader's change sets into {@link StoredResources#update},
 * {@link ResourceStore#publishChanges}, {@link TypeSnapshot#next} and a wildcard {@link TypeSubscription} that
 * diffs only changed names) serves exactly what packing every resource afresh serves, over random sequences of
 * config edits: the same resources and versions, the same alias lookups, and a client that applies the pushed
 * deltas holds exactly the snapshot.
 */
class IncrementalStoreTest {
  @TempDir Path dir;

  @ParameterizedTest
  @ValueSource(longs = {1, 2, 3, 4, 5, 6, 7, 8})
  void randomEdits_inPlaceStoreEqualsAFullRepack(long seed) throws IOException {
    RandomConfigFiles files = new RandomConfigFiles(dir, seed);
    ConfigDirectory config = ConfigDirectory.of(dir);
    StoredResources addresses = new StoredResources();
    StoredResources policies = new StoredResources();
    ResourceStore store = new ResourceStore();
    TypeSubscription wildcard = new TypeSubscription();
    wildcard.applyInitial(List.of(), List.of(), Map.of());
    Map<String, String> client = new HashMap<>(); // name -> version, as a client applying the deltas holds them
    int incrementalPushes = 0;
    for (int i = 0; i < 60; i++) {
      String context = "seed " + seed + " step " + i + " " + files.step();
      ConfigLoadResult r = config.load();
      Map<String, StoredResources.Update> byType = new LinkedHashMap<>();
      byType.put(Rpc.TYPE_ADDRESS, addresses.update(r.snapshot().addresses(), r.snapshot().aliases(),
          r.changes().addresses()));
      byType.put(Rpc.TYPE_AUTHORIZATION, policies.update(r.snapshot().policies(), Map.of(), r.changes().policies()));
      store.publishChanges(byType);

      Map<String, StoredResource> expected =
          new StoredResources().toStored(r.snapshot().addresses(), r.snapshot().aliases());
      TypeSnapshot got = store.snapshot(Rpc.TYPE_ADDRESS);
      assertThat(got.resources()).as(context).isEqualTo(expected);
      assertThat(store.snapshot(Rpc.TYPE_AUTHORIZATION).resources()).as(context)
          .isEqualTo(new StoredResources().toStored(r.snapshot().policies(), Map.of()));
      TypeSnapshot full = new TypeSnapshot(Rpc.TYPE_ADDRESS, got.version(), expected);
      for (String alias : List.of("/198.18.0.1", "/198.18.0.4", "/198.18.0.8", "net/198.19.0.1", "net/198.19.0.12",
          "net/198.19.0.13")) {
        assertThat(got.resolve(alias).map(StoredResource::name)).as(context + " alias " + alias)
            .isEqualTo(full.resolve(alias).map(StoredResource::name));
      }

      boolean incremental = got.baseVersion() >= 0;
      TypeSubscription.Delta delta = wildcard.next(got);
      delta.removed().forEach(client::remove);
      delta.resources().forEach(s -> client.put(s.name(), s.version()));
      Map<String, String> held = new HashMap<>();
      got.resources().forEach((name, s) -> held.put(name, s.version()));
      assertThat(client).as(context + " (client after the push)").isEqualTo(held);
      if (incremental && !delta.isEmpty()) {
        incrementalPushes++;
      }
    }
    assertThat(incrementalPushes).as("pushes diffed by changed names").isPositive();
  }

  @Test
  void nextSnapshot_sharesUnchangedResourcesAndMovesAliases() {
    StoredResource a = resource("a", "1", "net/198.18.0.1");
    StoredResource b = resource("b", "1", "net/198.18.0.2");
    TypeSnapshot first = new TypeSnapshot(Rpc.TYPE_ADDRESS, 1, Map.of("a", a, "b", b));
    StoredResource b2 = resource("b", "2", "net/198.18.0.3");
    var resources = dev.ambient.xds.config.PersistentMap.copyOf(first.resources()).edit();
    resources.put("b", b2);
    resources.remove("a");

    TypeSnapshot second = first.next(2, resources.build(), List.of("a", "b"));

    assertThat(second.baseVersion()).isEqualTo(1);
    assertThat(second.changedSinceBase()).containsExactlyInAnyOrder("a", "b");
    assertThat(second.resolve("net/198.18.0.1")).isEmpty();
    assertThat(second.resolve("net/198.18.0.2")).isEmpty();
    assertThat(second.resolve("net/198.18.0.3")).contains(b2);
    assertThat(first.resolve("net/198.18.0.1")).contains(a); // the predecessor is untouched
  }

  @Test
  void wildcardSubscription_afterASubscriptionChange_comparesEverythingAgain() {
    StoredResource a = resource("a", "1", "net/198.18.0.1");
    TypeSnapshot first = new TypeSnapshot(Rpc.TYPE_ADDRESS, 1, Map.of("a", a));
    TypeSubscription sub = new TypeSubscription();
    sub.applyInitial(List.of(), List.of(), Map.of());
    assertThat(sub.next(first).resources()).containsExactly(a);
    // an explicit re-subscription asks for "a" again although nothing changed since
    sub.applyChanges(List.of("a"), List.of(), first);
    TypeSnapshot second = first.next(2, dev.ambient.xds.config.PersistentMap.copyOf(first.resources()), List.of());

    assertThat(sub.next(second).resources()).containsExactly(a);
  }

  @Test
  void wildcardSubscription_upToDate_sendsNothingForTheSameSnapshotOrAnUnchangedType() {
    StoredResource a = resource("a", "1", "net/198.18.0.1");
    ResourceStore store = new ResourceStore();
    store.publish(Map.of(Rpc.TYPE_ADDRESS, Map.of("a", a)));
    TypeSubscription sub = new TypeSubscription();
    sub.applyInitial(List.of(), List.of(), Map.of());
    assertThat(sub.next(store.snapshot(Rpc.TYPE_ADDRESS)).resources()).containsExactly(a);

    assertThat(sub.next(store.snapshot(Rpc.TYPE_ADDRESS)).isEmpty()).isTrue();
    StoredResource b = resource("b", "1", "net/198.18.0.2");
    store.publish(Map.of(Rpc.TYPE_ADDRESS, Map.of("a", a, "b", b)));
    TypeSubscription.Delta delta = sub.next(store.snapshot(Rpc.TYPE_ADDRESS));
    assertThat(delta.resources()).containsExactly(b);
    assertThat(delta.removed()).isEmpty();
  }

  private static StoredResource resource(String name, String version, String alias) {
    return new StoredResource(name, version, com.google.protobuf.Any.getDefaultInstance(), List.of(alias));
  }
}
