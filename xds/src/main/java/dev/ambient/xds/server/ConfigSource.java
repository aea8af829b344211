package dev.ambient.xds.server;

/**
 * Loads the configuration directory. The control plane calls it once at start and again after each
 * change to the directory, always from one thread. An implementation keeps the last good content of
 * a file that turned bad and reports the file in {@link LoadedConfig#problems()}.
 */
@FunctionalInterface
public interface ConfigSource {
  LoadedConfig load();

  /**
   * Exercises the loading code without changing what {@link #load()} returns (e.g. parses the files again and
   * drops the result), so that the JIT has compiled it before the first real change. Default: nothing.
   */
  default void warmUp() {}
}
