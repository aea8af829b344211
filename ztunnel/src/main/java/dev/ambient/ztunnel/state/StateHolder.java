package dev.ambient.ztunnel.state;

import static java.util.Objects.requireNonNull;

/**
 * The one volatile reference through which the data path reads the current {@link ProxyState}.
 * Only {@link StateUpdater} publishes; readers never lock.
 */
public final class StateHolder {
  private volatile ProxyState current = ProxyState.EMPTY;

  /** The latest published snapshot (one volatile read). */
  public ProxyState current() {
    return current;
  }

  void publish(ProxyState state) {
    current = requireNonNull(state, "state");
  }
}
