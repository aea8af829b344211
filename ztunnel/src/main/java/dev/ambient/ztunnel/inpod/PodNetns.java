package dev.ambient.ztunnel.inpod;

import static java.util.Objects.requireNonNull;

import dev.ambient.net.SeqPacketSocket;
import dev.ambient.net.LinuxSockets.NetNamespace;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A pod's network namespace as received over ZDS (spec §7.1, §7.3): its {@link NetnsId} and a
 * {@link NetNamespace} whose dedicated thread creates the pod's sockets. Owned by whoever holds it
 * last (the workload manager); {@link #close} releases the descriptor and the thread. Idempotent.
 */
public final class PodNetns implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(PodNetns.class);

  private final NetnsId id;
  private final @Nullable NetNamespace namespace;

  /** A namespace without a descriptor, for tests of the bookkeeping. */
  PodNetns(NetnsId id, @Nullable NetNamespace namespace) {
    this.id = requireNonNull(id, "id");
    this.namespace = namespace;
  }

  /**
   * Takes ownership of a received netns descriptor: records its identity, re-opens it as a {@link
   * NetNamespace} and closes {@code fd} (also on failure).
   */
  static PodNetns adopt(int fd) throws IOException {
    try {
      NetnsId id = NetnsId.ofFd(fd);
      checkType(fd);
      return new PodNetns(id, NetNamespace.open(procFd(fd)));
    } finally {
      try {
        SeqPacketSocket.closeFd(fd);
      } catch (IOException e) {
        log.debug("closing received netns fd {}: {}", fd, e.toString());
      }
    }
  }

  /** Sanity check of spec §7.1: the descriptor should be a network namespace; only logged. */
  private static void checkType(int fd) {
    try {
      String target = Files.readSymbolicLink(procFd(fd)).toString();
      if (!target.startsWith("net:[")) {
        log.debug("ZDS netns fd {} is {}, not a network namespace", fd, target);
      }
    } catch (IOException | UnsupportedOperationException e) {
      log.debug("cannot check ZDS netns fd {}: {}", fd, e.toString());
    }
  }

  static Path procFd(int fd) {
    return Path.of("/proc/self/fd/" + fd);
  }

  NetnsId id() {
    return id;
  }

  /** The namespace to create sockets in; absent only for bookkeeping-only instances. */
  NetNamespace namespace() {
    if (namespace == null) {
      throw new IllegalStateException(id + " has no descriptor");
    }
    return namespace;
  }

  @Override
  public void close() {
    if (namespace != null) {
      try {
        namespace.close();
      } catch (IOException e) {
        log.debug("closing {}: {}", namespace, e.toString());
      }
    }
  }

  @Override
  public String toString() {
    return id.toString();
  }
}
