package dev.ambient.xds.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.Any;
import dev.ambient.xds.api.Rpc;
import dev.ambient.xds.api.discovery.DeltaDiscoveryResponse;
import dev.ambient.xds.api.workload.Address;
import dev.ambient.xds.api.workload.Workload;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class WarmUpPushTest {
  private static StoredResource workload(String uid) {
    return StoredResource.of(uid,
        Any.pack(Address.newBuilder().setWorkload(Workload.newBuilder().setUid(uid)).build()), List.of("/198.18.0.9"));
  }

  @Test
  void warmUpPush_encodesAOneResourceDelta_andLeavesTheSnapshotAlone() {
    Map<String, StoredResource> resources = Map.of("u1", workload("u1"), "u2", workload("u2"));
    TypeSnapshot snapshot = new TypeSnapshot(Rpc.TYPE_ADDRESS, 7, resources);

    int size = ControlPlane.warmUpPush(snapshot);

    assertThat(size).isPositive().isLessThan(workload("u1").resource().getSerializedSize() + 200);
    assertThat(snapshot.resources()).isEqualTo(resources);
    assertThat(snapshot.version()).isEqualTo(7);
  }

  @Test
  void warmUpPush_ofAnEmptyType_doesNothing() {
    assertThat(ControlPlane.warmUpPush(TypeSnapshot.empty(Rpc.TYPE_AUTHORIZATION))).isZero();
  }

  @Test
  void response_carriesTheDeltaAndRecordsTheSentVersions() {
    StoredResource u1 = workload("u1");
    TypeSnapshot snapshot = new TypeSnapshot(Rpc.TYPE_ADDRESS, 3, Map.of("u1", u1));
    Map<String, String> versions = new HashMap<>();

    DeltaDiscoveryResponse r = DeltaStream.response(Rpc.TYPE_ADDRESS, "n-1", snapshot,
        new TypeSubscription.Delta(List.of(u1), List.of("gone")), versions).build();

    assertThat(r.getTypeUrl()).isEqualTo(Rpc.TYPE_ADDRESS);
    assertThat(r.getNonce()).isEqualTo("n-1");
    assertThat(r.getSystemVersionInfo()).isEqualTo("3");
    assertThat(r.getRemovedResourcesList()).containsExactly("gone");
    assertThat(r.getResourcesList()).singleElement().satisfies(res -> {
      assertThat(res.getName()).isEqualTo("u1");
      assertThat(res.getVersion()).isEqualTo(u1.version());
      assertThat(res.getResource()).isEqualTo(u1.resource());
      assertThat(res.getAliasesList()).containsExactly("/198.18.0.9");
    });
    assertThat(versions).containsExactly(Map.entry("u1", u1.version()));
  }
}
