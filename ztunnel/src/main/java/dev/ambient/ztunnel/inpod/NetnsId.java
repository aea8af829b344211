package dev.ambient.ztunnel.inpod;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The identity of a network namespace: device and inode of its nsfs file (spec §7.2: a re-added pod
 * with the same netns is the same pod; a different one means the sandbox was re-created).
 */
record NetnsId(long device, long inode) {
  /** The identity of the namespace {@code fd} refers to (through {@code /proc/self/fd}). */
  static NetnsId ofFd(int fd) throws IOException {
    Path p = PodNetns.procFd(fd);
    Object dev = Files.getAttribute(p, "unix:dev");
    Object ino = Files.getAttribute(p, "unix:ino");
    return new NetnsId(((Number) dev).longValue(), ((Number) ino).longValue());
  }

  @Override
  public String toString() {
    return "netns[dev " + device + ", ino " + inode + "]";
  }
}
