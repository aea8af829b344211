package dev.ambient.testing;

import org.junit.platform.launcher.LauncherSession;
import org.junit.platform.launcher.LauncherSessionListener;

/**
 * Installs {@link LeakRecorder} when the JUnit Platform launcher session opens, before any test
 * class (and so, normally, any Netty buffer class) is loaded. Registered through {@code
 * META-INF/services/org.junit.platform.launcher.LauncherSessionListener}.
 */
public final class LeakRecordingSessionListener implements LauncherSessionListener {
  @Override
  public void launcherSessionOpened(LauncherSession session) {
    LeakRecorder.install();
  }
}
