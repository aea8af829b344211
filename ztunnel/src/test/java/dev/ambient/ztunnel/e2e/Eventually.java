package dev.ambient.ztunnel.e2e;

import java.time.Duration;

/** Bounded polling (ztunnel tests do not depend on awaitility). */
final class Eventually {
  private Eventually() {}

  @FunctionalInterface
  interface Check {
    void run() throws Exception;
  }

  /** Runs {@code check} every 50 ms until it passes; after {@code atMost} its last failure is thrown. */
  static void assertThat(Duration atMost, Check check) throws Exception {
    long end = System.nanoTime() + atMost.toNanos();
    while (true) {
      try {
        check.run();
        return;
      } catch (AssertionError | Exception e) {
        if (System.nanoTime() - end >= 0) {
          throw e;
        }
        Thread.sleep(50);
      }
    }
  }
}
