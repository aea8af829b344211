package dev.ambient.testing;

import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Fails a test when Netty reported a resource leak during it (or before it, undetected until now):
 * after each test it runs the garbage collector, makes the leak detectors poll, and fails with the
 * leak records. Use with {@code @ExtendWith(LeakDetectionExtension.class)}; run tests with
 * {@code -Dio.netty.leakDetection.level=paranoid} (the parent pom does) so every buffer is tracked.
 */
public final class LeakDetectionExtension implements BeforeAllCallback, AfterEachCallback {
  @Override
  public void beforeAll(ExtensionContext context) {
    // Normally done already by LeakRecordingSessionListener; a no-op then.
    LeakRecorder.install();
  }

  @Override
  public void afterEach(ExtensionContext context) {
    LeakRecorder.assertNoLeaks();
  }
}
