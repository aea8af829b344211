package dev.ambient.ztunnel.inpod;

import static dev.ambient.ztunnel.state.Fixtures.workload;
import static org.assertj.core.api.Assertions.assertThat;

import dev.ambient.xds.client.Workload;
import dev.ambient.ztunnel.ZtunnelConfig.Identity;
import dev.ambient.ztunnel.ZtunnelConfig.ProxyMode;
import dev.ambient.ztunnel.ZtunnelConfig.WorkloadInfo;
import dev.ambient.ztunnel.proxy.Sockets;
import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Which workload ztunnel's own inbound listener serves (spec §7.6), as tables. */
class SelfInboundTest {
  static final WorkloadInfo SELF = new WorkloadInfo("istio-system", "ztunnel-abc", "ztunnel");

  static Identity identity(@Nullable String podName, @Nullable String podNamespace, @Nullable String sa) {
    return new Identity("Kubernetes", "cluster.local", "", Optional.of("node-a"), Optional.empty(),
        Optional.ofNullable(podName), Optional.ofNullable(podNamespace), Optional.ofNullable(sa), "cluster.local");
  }

  static Stream<Arguments> workloadInfoCases() {
    return Stream.of(
        Arguments.of("shared, all three set", ProxyMode.SHARED, identity("ztunnel-abc", "istio-system", "ztunnel"),
            Optional.of(SELF)),
        Arguments.of("dedicated mode never", ProxyMode.DEDICATED, identity("ztunnel-abc", "istio-system", "ztunnel"),
            Optional.empty()),
        Arguments.of("no POD_NAME", ProxyMode.SHARED, identity(null, "istio-system", "ztunnel"), Optional.empty()),
        Arguments.of("no POD_NAMESPACE", ProxyMode.SHARED, identity("ztunnel-abc", null, "ztunnel"), Optional.empty()),
        Arguments.of("no SERVICE_ACCOUNT", ProxyMode.SHARED, identity("ztunnel-abc", "istio-system", null),
            Optional.empty()),
        Arguments.of("blank SERVICE_ACCOUNT", ProxyMode.SHARED, identity("ztunnel-abc", "istio-system", " "),
            Optional.empty()),
        Arguments.of("blank POD_NAME", ProxyMode.SHARED, identity("", "istio-system", "ztunnel"), Optional.empty()));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("workloadInfoCases")
  void workloadInfo(String name, ProxyMode mode, Identity identity, Optional<WorkloadInfo> expected) {
    assertThat(SelfInbound.workloadInfo(mode, identity)).isEqualTo(expected);
  }

  static Workload w(String uid, String name, String ns, String sa, String node) {
    return workload(name).namespace(ns).uid(uid).sa(sa).node(node).ip("198.18.0.9").build();
  }

  static final Workload OWN = w("Kubernetes//Pod/istio-system/ztunnel-abc", "ztunnel-abc", "istio-system", "ztunnel",
      "node-a");
  static final Workload OTHER_NODE = w("Kubernetes//Pod/istio-system/ztunnel-abc-old", "ztunnel-abc", "istio-system",
      "ztunnel", "node-b");
  static final Workload NO_NODE = w("Kubernetes//Pod/istio-system/ztunnel-abc-nonode", "ztunnel-abc", "istio-system",
      "ztunnel", "");
  static final Workload OTHER_SA = w("Kubernetes//Pod/istio-system/ztunnel-abc-sa", "ztunnel-abc", "istio-system",
      "default", "node-a");
  static final Workload OTHER_NS = w("Kubernetes//Pod/kube-system/ztunnel-abc", "ztunnel-abc", "kube-system",
      "ztunnel", "node-a");
  static final Workload OTHER_NAME = w("Kubernetes//Pod/istio-system/ztunnel-xyz", "ztunnel-xyz", "istio-system",
      "ztunnel", "node-a");

  static Stream<Arguments> findCases() {
    Optional<String> nodeA = Optional.of("node-a");
    return Stream.of(
        Arguments.of("own workload on our node", List.of(OTHER_NAME, OWN), nodeA, Optional.of(OWN)),
        Arguments.of("nothing in xDS", List.of(), nodeA, Optional.empty()),
        Arguments.of("same name on another node only", List.of(OTHER_NODE), nodeA, Optional.empty()),
        Arguments.of("other node ignored beside ours", List.of(OTHER_NODE, OWN), nodeA, Optional.of(OWN)),
        Arguments.of("workload without node matches", List.of(NO_NODE), nodeA, Optional.of(NO_NODE)),
        Arguments.of("no NODE_NAME: any node, smallest uid", List.of(OTHER_NODE, OWN), Optional.empty(),
            Optional.of(OWN)),
        Arguments.of("other service account", List.of(OTHER_SA), nodeA, Optional.empty()),
        Arguments.of("other namespace", List.of(OTHER_NS), nodeA, Optional.empty()),
        Arguments.of("other name", List.of(OTHER_NAME), nodeA, Optional.empty()),
        Arguments.of("ties: smallest uid", List.of(NO_NODE, OWN), nodeA, Optional.of(OWN)));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("findCases")
  void find(String name, List<Workload> workloads, Optional<String> node, Optional<Workload> expected) {
    assertThat(SelfInbound.find(workloads, SELF, node)).isEqualTo(expected);
  }

  @Test
  void neverSpoofing_dropsTheSpoofSource_andTransparency() throws Exception {
    List<@Nullable InetAddress> asked = new ArrayList<>();
    Sockets base = new Sockets() {
      @Override
      public Consumer<ServerBootstrap> listener() {
        throw new AssertionError("the base listener options (IP_TRANSPARENT) must not be used");
      }

      @Override
      public boolean transparent() {
        return true;
      }

      @Override
      public Consumer<Bootstrap> outgoing(@Nullable InetAddress spoofSource) {
        asked.add(spoofSource);
        return b -> {};
      }
    };
    Sockets own = SelfInbound.neverSpoofing(base);
    assertThat(own.transparent()).isFalse();
    own.outgoing(InetAddress.getByName("198.18.0.7"));
    assertThat(asked).containsExactly((InetAddress) null);
    own.listener().accept(new ServerBootstrap());
  }
}
