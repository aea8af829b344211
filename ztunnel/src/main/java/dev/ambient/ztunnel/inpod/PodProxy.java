package dev.ambient.ztunnel.inpod;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;

/** The proxy of one pod: its listeners inside the pod netns and its HBONE pool (spec §7.3). */
interface PodProxy {
  /** Immediate drain (pod deleted, spec §7.2): listeners and connections closed now. */
  void close();

  /** Graceful drain (ztunnel shutdown, spec §9.6): stop accepting, wait up to {@code deadline}, close. */
  CompletableFuture<Void> drain(Duration deadline);

  /** Starts the proxy of one pod; a failure (e.g. a port still bound) leaves nothing open. */
  @FunctionalInterface
  interface Factory {
    PodProxy start(String uid, dev.ambient.ztunnel.ZtunnelConfig.WorkloadInfo info, PodNetns netns) throws Exception;
  }
}
