package dev.ambient.xds.server;

/**
 * Loads the configuration directory. The control plane calls it once at start and again after each
 * change to the directory, always from one thread. An implementation keeps the last good content of
 * a file that turned bad and reports the file in {@link LoadedConfig#problems()}.
 */
@FunctionalInterface
public interface ConfigSource {
  LoadedConfig load();
}
