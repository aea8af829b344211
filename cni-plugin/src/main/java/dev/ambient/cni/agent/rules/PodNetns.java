package dev.ambient.cni.agent.rules;

import java.nio.file.Path;

/**
 * A pod's network namespace, named by a path the agent can open: {@code /var/run/netns/NAME},
 * {@code /proc/PID/ns/net}, or the same under the host-mount prefix ({@code /host/...}).
 */
public record PodNetns(Path path) {
  public PodNetns {
    if (!path.isAbsolute()) {
      throw new IllegalArgumentException("netns path must be absolute: " + path);
    }
  }

  public static PodNetns of(String path) {
    return new PodNetns(Path.of(path));
  }
}
