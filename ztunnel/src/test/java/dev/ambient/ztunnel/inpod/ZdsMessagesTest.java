package dev.ambient.ztunnel.inpod;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ambient.xds.api.zds.AddWorkload;
import dev.ambient.xds.api.zds.DelWorkload;
import dev.ambient.xds.api.zds.KeepWorkload;
import dev.ambient.xds.api.zds.SnapshotSent;
import dev.ambient.xds.api.zds.Version;
import dev.ambient.xds.api.zds.WorkloadInfo;
import dev.ambient.xds.api.zds.WorkloadRequest;
import dev.ambient.xds.api.zds.WorkloadResponse;
import dev.ambient.xds.api.zds.ZdsHello;
import dev.ambient.ztunnel.ZtunnelConfig;
import java.util.OptionalInt;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** The ZDS wire rules (spec §7.1–§7.4) as a table: which packets decode, which are errors, which are fatal. */
class ZdsMessagesTest {
  private static final OptionalInt FD = OptionalInt.of(42);
  private static final OptionalInt NO_FD = OptionalInt.empty();

  static byte[] add(String uid, boolean withInfo) {
    AddWorkload.Builder a = AddWorkload.newBuilder().setUid(uid);
    if (withInfo) {
      a.setWorkloadInfo(WorkloadInfo.newBuilder().setName("pod-a").setNamespace("ns").setServiceAccount("sa"));
    }
    return WorkloadRequest.newBuilder().setAdd(a).build().toByteArray();
  }

  static byte[] keep(String uid) {
    return WorkloadRequest.newBuilder().setKeep(KeepWorkload.newBuilder().setUid(uid)).build().toByteArray();
  }

  static byte[] del(String uid) {
    return WorkloadRequest.newBuilder().setDel(DelWorkload.newBuilder().setUid(uid)).build().toByteArray();
  }

  static byte[] snapshot() {
    return WorkloadRequest.newBuilder().setSnapshotSent(SnapshotSent.getDefaultInstance()).build().toByteArray();
  }

  static Stream<Arguments> valid() {
    return Stream.of(
        Arguments.of("add with fd and info", add("u1", true), FD, false,
            new ZdsEvent.Add("u1", new ZtunnelConfig.WorkloadInfo("ns", "pod-a", "sa"), 42)),
        Arguments.of("add after snapshot", add("u1", true), FD, true,
            new ZdsEvent.Add("u1", new ZtunnelConfig.WorkloadInfo("ns", "pod-a", "sa"), 42)),
        Arguments.of("keep before snapshot", keep("u2"), NO_FD, false, new ZdsEvent.Keep("u2")),
        Arguments.of("del (uid is field 2)", del("u3"), NO_FD, true, new ZdsEvent.Del("u3")),
        Arguments.of("del before snapshot", del("u3"), NO_FD, false, new ZdsEvent.Del("u3")),
        Arguments.of("first snapshot sent", snapshot(), NO_FD, false, new ZdsEvent.SnapshotSent()));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("valid")
  void decodes(String name, byte[] packet, OptionalInt fd, boolean snapshotDone, ZdsEvent expected) throws Exception {
    assertThat(ZdsMessages.decode(packet, fd, snapshotDone)).isEqualTo(expected);
  }

  static Stream<Arguments> invalid() {
    return Stream.of(
        Arguments.of("garbage bytes", new byte[] {(byte) 0xff, (byte) 0xff, 0x01}, NO_FD, false, false, "malformed"),
        Arguments.of("empty request", WorkloadRequest.getDefaultInstance().toByteArray(), NO_FD, false, false,
            "without a payload"),
        Arguments.of("add without fd", add("u1", true), NO_FD, false, false, "without a netns file descriptor"),
        Arguments.of("del with fd", del("u1"), FD, true, false, "unexpected file descriptor with DelWorkload"),
        Arguments.of("keep with fd", keep("u1"), FD, false, false, "unexpected file descriptor with KeepWorkload"),
        Arguments.of("snapshot with fd", snapshot(), FD, false, false, "unexpected file descriptor with SnapshotSent"),
        Arguments.of("add without uid", add("", true), FD, false, false, "without a uid"),
        Arguments.of("add without workload_info", add("u1", false), FD, false, true, "without workload_info"),
        Arguments.of("keep after snapshot", keep("u1"), NO_FD, true, true, "after SnapshotSent"),
        Arguments.of("second snapshot", snapshot(), NO_FD, true, true, "second SnapshotSent"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("invalid")
  void rejects(String name, byte[] packet, OptionalInt fd, boolean snapshotDone, boolean fatal, String message) {
    assertThatThrownBy(() -> ZdsMessages.decode(packet, fd, snapshotDone))
        .isInstanceOfSatisfying(ZdsException.class, e -> assertThat(e.fatal()).as("fatal").isEqualTo(fatal))
        .hasMessageContaining(message);
  }

  @Test
  void helloAndAck_areTheWireMessages() throws Exception {
    assertThat(ZdsHello.parseFrom(ZdsMessages.hello()).getVersion()).isEqualTo(Version.V1);
    assertThat(WorkloadResponse.parseFrom(ZdsMessages.ack("boom")).getAck().getError()).isEqualTo("boom");
    WorkloadResponse ok = WorkloadResponse.parseFrom(ZdsMessages.ack(""));
    assertThat(ok.hasAck()).isTrue();
    assertThat(ok.getAck().getError()).isEmpty();
  }
}
