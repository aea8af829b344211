package dev.ambient.ztunnel.proxy.outbound;

import java.time.Duration;
import java.util.function.BooleanSupplier;

/** Polls a condition (ztunnel tests do not depend on awaitility). */
final class Await {
  private Await() {}

  static void until(Duration atMost, BooleanSupplier condition) throws InterruptedException {
    long end = System.nanoTime() + atMost.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() - end >= 0) {
        throw new AssertionError("condition not met within " + atMost);
      }
      Thread.sleep(10);
    }
  }

  static void untilAsserted(Duration atMost, Runnable assertion) throws InterruptedException {
    long end = System.nanoTime() + atMost.toNanos();
    while (true) {
      try {
        assertion.run();
        return;
      } catch (AssertionError e) {
        if (System.nanoTime() - end >= 0) {
          throw e;
        }
        Thread.sleep(10);
      }
    }
  }
}
