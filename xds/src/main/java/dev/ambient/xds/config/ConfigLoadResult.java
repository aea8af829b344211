package dev.ambient.xds.config;

import static java.util.Objects.requireNonNull;

import java.util.List;

/**
 * The outcome of one {@link ConfigDirectory#load()}.
 *
 * @param snapshot what to serve: every good file, plus the last good content of each bad one
 * @param errors files or documents that could not be used (their previous content, if any, is in the snapshot)
 * @param warnings things that loaded but are not enforced as written (e.g. an Istio policy ztunnel cannot run)
 * @param changes which resources differ from the previous load's snapshot
 */
public record ConfigLoadResult(
    ConfigSnapshot snapshot, List<ConfigError> errors, List<ConfigError> warnings, ConfigChanges changes) {
  public ConfigLoadResult {
    requireNonNull(snapshot, "snapshot");
    requireNonNull(changes, "changes");
    errors = List.copyOf(errors);
    warnings = List.copyOf(warnings);
  }
}
