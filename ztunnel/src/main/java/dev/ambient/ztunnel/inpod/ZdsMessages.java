package dev.ambient.ztunnel.inpod;

import com.google.protobuf.InvalidProtocolBufferException;
import dev.ambient.xds.api.zds.Ack;
import dev.ambient.xds.api.zds.Version;
import dev.ambient.xds.api.zds.WorkloadRequest;
import dev.ambient.xds.api.zds.WorkloadResponse;
import dev.ambient.xds.api.zds.ZdsHello;
import dev.ambient.ztunnel.ZtunnelConfig.WorkloadInfo;
import java.util.OptionalInt;

/**
 * The ZDS wire format (spec §1.3, §7.1–§7.2) as pure functions: one protobuf message per packet,
 * {@code AddWorkload} with exactly one netns descriptor, every other request without one.
 */
final class ZdsMessages {
  /** ztunnel reads each packet into a buffer of this size; a longer one is an error (MSG_TRUNC). */
  static final int MAX_PACKET = 1024;

  private ZdsMessages() {}

  /** {@code ZdsHello{version: V1}}, sent first on every connection. */
  static byte[] hello() {
    return ZdsHello.newBuilder().setVersion(Version.V1).build().toByteArray();
  }

  /** {@code WorkloadResponse{ack{error}}}; an empty error is success. */
  static byte[] ack(String error) {
    return WorkloadResponse.newBuilder().setAck(Ack.newBuilder().setError(error)).build().toByteArray();
  }

  /**
   * Decodes one request. The caller still owns {@code fd} when this throws, and must close it.
   *
   * @param snapshotDone whether {@code SnapshotSent} was already received on this connection
   */
  static ZdsEvent decode(byte[] packet, OptionalInt fd, boolean snapshotDone) throws ZdsException {
    WorkloadRequest request;
    try {
      request = WorkloadRequest.parseFrom(packet);
    } catch (InvalidProtocolBufferException e) {
      throw new ZdsException("malformed WorkloadRequest (" + packet.length + " bytes): " + e.getMessage(), e);
    }
    if (request.getPayloadCase() != WorkloadRequest.PayloadCase.ADD && fd.isPresent()) {
      throw new ZdsException("unexpected file descriptor with " + describe(request), false);
    }
    return switch (request.getPayloadCase()) {
      case ADD -> {
        var add = request.getAdd();
        if (fd.isEmpty()) {
          throw new ZdsException("AddWorkload " + add.getUid() + " without a netns file descriptor", false);
        }
        if (!add.hasWorkloadInfo()) {
          throw new ZdsException("AddWorkload " + add.getUid() + " without workload_info", true);
        }
        var info = add.getWorkloadInfo();
        if (add.getUid().isEmpty()) {
          throw new ZdsException("AddWorkload without a uid", false);
        }
        yield new ZdsEvent.Add(add.getUid(),
            new WorkloadInfo(info.getNamespace(), info.getName(), info.getServiceAccount()), fd.getAsInt());
      }
      case KEEP -> {
        if (snapshotDone) {
          throw new ZdsException("KeepWorkload " + request.getKeep().getUid() + " after SnapshotSent", true);
        }
        yield new ZdsEvent.Keep(request.getKeep().getUid());
      }
      case DEL -> new ZdsEvent.Del(request.getDel().getUid());
      case SNAPSHOT_SENT -> {
        if (snapshotDone) {
          throw new ZdsException("second SnapshotSent on one connection", true);
        }
        yield new ZdsEvent.SnapshotSent();
      }
      case PAYLOAD_NOT_SET -> throw new ZdsException("WorkloadRequest without a payload", false);
    };
  }

  private static String describe(WorkloadRequest r) {
    return switch (r.getPayloadCase()) {
      case ADD -> "AddWorkload";
      case KEEP -> "KeepWorkload";
      case DEL -> "DelWorkload";
      case SNAPSHOT_SENT -> "SnapshotSent";
      case PAYLOAD_NOT_SET -> "an empty WorkloadRequest";
    };
  }
}
