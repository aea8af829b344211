package dev.ambient.xds.client;

import io.grpc.Status;

/**
 * Receives the client's state, grpc-java style. Callbacks run one at a time on the client's serial
 * executor, in response order; they must not block (hand heavy work to another executor).
 */
public interface XdsWatcher {
  /**
   * Accepted changes from one response, to apply as one batch. The first call after
   * {@link XdsClient#watch} carries everything the client holds.
   */
  void onUpdate(XdsUpdate update);

  /**
   * A transient problem (stream failed, control plane unreachable). The last good state stays
   * valid: keep serving it. Rejected resources are not reported here but in NACKs.
   */
  default void onAmbientError(Status status) {}
}
