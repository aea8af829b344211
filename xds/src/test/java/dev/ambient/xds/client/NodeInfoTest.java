package dev.ambient.xds.client;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.Value;
import java.util.Map;
import org.junit.jupiter.api.Test;

class NodeInfoTest {
  @Test
  void fromEnvironment_idAndMetadata() {
    NodeInfo n = NodeInfo.fromEnvironment(Map.of(
        "INSTANCE_IP", "198.18.0.9",
        "POD_NAME", "ztunnel-abc",
        "POD_NAMESPACE", "istio-system",
        "NODE_NAME", "node-1",
        "ISTIO_META_CLUSTER_ID", "c1",
        "ISTIO_META_DNS_CAPTURE", "false",
        "ISTIO_METAJSON_LABELS", "{\"app\":\"z\",\"n\":3,\"l\":[true,null]}",
        "ISTIO_METAJSON_BROKEN", "{not json",
        "UNRELATED", "x"));
    assertThat(n.id()).isEqualTo("ztunnel~198.18.0.9~ztunnel-abc.istio-system~istio-system.svc.cluster.local");
    Map<String, Value> md = n.metadata().getFieldsMap();
    assertThat(md.get("NAME").getStringValue()).isEqualTo("ztunnel-abc");
    assertThat(md.get("NAMESPACE").getStringValue()).isEqualTo("istio-system");
    assertThat(md.get("INSTANCE_IPS").getStringValue()).isEqualTo("198.18.0.9");
    assertThat(md.get("NODE_NAME").getStringValue()).isEqualTo("node-1");
    assertThat(md.get("CLUSTER_ID").getStringValue()).isEqualTo("c1");
    assertThat(md.get("DNS_CAPTURE").getStringValue()).isEqualTo("false");
    Map<String, Value> labels = md.get("LABELS").getStructValue().getFieldsMap();
    assertThat(labels.get("app").getStringValue()).isEqualTo("z");
    assertThat(labels.get("n").getNumberValue()).isEqualTo(3.0);
    assertThat(labels.get("l").getListValue().getValues(0).getBoolValue()).isTrue();
    assertThat(labels.get("l").getListValue().getValues(1).hasNullValue()).isTrue();
    assertThat(md).doesNotContainKeys("BROKEN", "UNRELATED", "ISTIO_META_CLUSTER_ID");
    assertThat(n.toNode().getId()).isEqualTo(n.id());
  }

  @Test
  void fromEnvironment_emptyDefaults() {
    NodeInfo n = NodeInfo.fromEnvironment(Map.of());
    assertThat(n.id()).isEqualTo("ztunnel~1.1.1.1~.~.svc.cluster.local");
    assertThat(n.metadata().getFieldsMap().get("INSTANCE_IPS").getStringValue()).isEqualTo("1.1.1.1");
    assertThat(n.metadata().getFieldsMap().get("NAME").getStringValue()).isEmpty();
  }
}
