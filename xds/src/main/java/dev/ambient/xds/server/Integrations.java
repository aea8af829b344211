package dev.ambient.xds.server;

import java.nio.file.Path;
import org.jspecify.annotations.Nullable;

/** Adapters from the config loader and the CA to the control plane's ports. */
final class Integrations {
  private Integrations() {}

  static ConfigSource configSource(Path dir) {
    throw new ControlPlaneException(ControlPlaneException.Reason.CONFIG_DIR,
        "the config loader (dev.ambient.xds.config) is not in this build yet");
  }

  static ServingCa ca(@Nullable Path caDir, Path stateDir) {
    throw new ControlPlaneException(ControlPlaneException.Reason.CA,
        "the CA (dev.ambient.xds.ca) is not in this build yet");
  }
}
