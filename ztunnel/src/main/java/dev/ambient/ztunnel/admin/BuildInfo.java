package dev.ambient.ztunnel.admin;

import static java.util.Objects.requireNonNull;

/**
 * The {@code version} section of {@code /config_dump}, with ztunnel's field names. {@code
 * rustVersion} keeps its name for tools that read it and carries the Java runtime version here.
 */
public record BuildInfo(
    String version,
    String gitRevision,
    String rustVersion,
    String buildProfile,
    String buildStatus,
    String istioVersion,
    String cryptoProvider) {
  public BuildInfo {
    requireNonNull(version, "version");
    requireNonNull(gitRevision, "gitRevision");
    requireNonNull(rustVersion, "rustVersion");
    requireNonNull(buildProfile, "buildProfile");
    requireNonNull(buildStatus, "buildStatus");
    requireNonNull(istioVersion, "istioVersion");
    requireNonNull(cryptoProvider, "cryptoProvider");
  }

  /** What this process knows about itself: the jar's implementation version (or "unknown"), JDK TLS. */
  public static BuildInfo current(String istioVersion) {
    String v = BuildInfo.class.getPackage().getImplementationVersion();
    return new BuildInfo(v == null ? "unknown" : v, "unknown", "java " + Runtime.version(), "release", "unknown",
        istioVersion, "jdk");
  }
}
