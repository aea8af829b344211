package dev.ambient.xds.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.Any;
import dev.ambient.xds.api.security.Authorization;
import dev.ambient.xds.api.workload.Address;
import dev.ambient.xds.api.workload.Workload;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class StoredResourcesTest {
  private static Address workload(String uid, String name) {
    return Address.newBuilder().setWorkload(Workload.newBuilder().setUid(uid).setName(name)).build();
  }

  @Test
  void unchangedResource_keepsItsStoredInstanceAndVersion_evenWhenItIsAnEqualNewMessage() {
    StoredResources stored = new StoredResources();
    Map<String, StoredResource> first = stored.toStored(
        Map.of("u1", workload("u1", "a"), "u2", workload("u2", "b")), Map.of("u1", List.of("/198.18.0.1")));

    Map<String, StoredResource> second = stored.toStored(
        Map.of("u1", workload("u1", "a"), "u2", workload("u2", "b2")), Map.of("u1", List.of("/198.18.0.1")));

    assertThat(second.get("u1")).isSameAs(first.get("u1"));
    assertThat(second.get("u2").version()).isNotEqualTo(first.get("u2").version());
    assertThat(stored.reusedLastTime()).isEqualTo(1);
    assertThat(second.keySet()).containsExactlyInAnyOrder("u1", "u2");
  }

  @Test
  void changedAliases_makeANewVersion_andReuseGivesWhatAFreshPackGives() {
    StoredResources stored = new StoredResources();
    Address u1 = workload("u1", "a");
    StoredResource before = stored.toStored(Map.of("u1", u1), Map.of("u1", List.of("/198.18.0.1"))).get("u1");
    StoredResource after = stored.toStored(Map.of("u1", u1), Map.of("u1", List.of("/198.18.0.2"))).get("u1");

    assertThat(after.version()).isNotEqualTo(before.version());
    assertThat(after).isEqualTo(StoredResource.of("u1", Any.pack(u1), List.of("/198.18.0.2")));
    assertThat(stored.reusedLastTime()).isZero();
  }

  @Test
  void unchangedResource_isNotSentAgain_storeSeesNoChange() {
    StoredResources stored = new StoredResources();
    ResourceStore store = new ResourceStore();
    Authorization p = Authorization.newBuilder().setName("p").setNamespace("ns").build();
    long v1 = store.publish(Map.of("t", stored.toStored(Map.of("ns/p", p), Map.of())));
    TypeSnapshot s1 = store.snapshot("t");

    long v2 = store.publish(Map.of("t", stored.toStored(Map.of("ns/p", p.toBuilder().build()), Map.of())));

    assertThat(v2).isEqualTo(v1);
    assertThat(store.snapshot("t")).isSameAs(s1);
    TypeSubscription sub = new TypeSubscription();
    sub.applyInitial(List.of(), List.of(), Map.of());
    assertThat(sub.next(s1).resources()).hasSize(1);
    assertThat(sub.next(store.snapshot("t")).resources()).isEmpty();
  }
}
