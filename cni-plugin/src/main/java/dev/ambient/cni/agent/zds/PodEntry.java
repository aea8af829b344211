package dev.ambient.cni.agent.zds;

import dev.ambient.net.SeqPacketSocket;
import dev.ambient.xds.api.zds.WorkloadInfo;
import java.io.IOException;
import java.nio.file.Path;
import java.util.OptionalInt;

/**
 * An enrolled pod: its ZDS identity and an open descriptor of its network namespace, kept open so
 * that every (re)connecting ztunnel can be sent one. Sending and closing are serialised, so the
 * descriptor number is never passed after it was closed (and possibly reused).
 */
final class PodEntry {
  final String uid;
  final WorkloadInfo info;
  final Path netns;
  private final int fd;
  private boolean closed;

  private PodEntry(String uid, WorkloadInfo info, Path netns, int fd) {
    this.uid = uid;
    this.info = info;
    this.netns = netns;
    this.fd = fd;
  }

  static PodEntry open(String uid, WorkloadInfo info, Path netns) throws IOException {
    return new PodEntry(uid, info, netns, SeqPacketSocket.openReadOnly(netns));
  }

  /** Sends {@code message} with this pod's netns descriptor; false (nothing sent) once removed. */
  synchronized boolean sendWithNetns(SeqPacketSocket socket, byte[] message) throws IOException {
    if (closed) {
      return false;
    }
    socket.send(message, OptionalInt.of(fd));
    return true;
  }

  synchronized void close() {
    if (!closed) {
      closed = true;
      try {
        SeqPacketSocket.closeFd(fd);
      } catch (IOException e) {
        // the descriptor is gone either way
      }
    }
  }
}
