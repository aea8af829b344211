package dev.ambient.ztunnel.runtime;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.classic.spi.Configurator;
import ch.qos.logback.classic.spi.ConfiguratorRank;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.ConsoleAppender;
import ch.qos.logback.core.spi.ContextAwareBase;
import org.jspecify.annotations.Nullable;

/**
 * ztunnel's logging set up in code, found by logback through {@code ServiceLoader}: the plain log line of
 * spec §9.3 (RFC 3339 UTC time, level, target, message, tab-separated) on the console, root at INFO, gRPC
 * and Netty at WARN. The same as {@code logback-ztunnel.xml}, without logback's XML configuration
 * machinery (Joran and its ~200 classes, about 1 MiB of metaspace per process). It steps aside, so
 * that logback's usual lookup runs, when {@code -Dlogback.configurationFile} is set or a
 * {@code logback-test.xml} / {@code logback.xml} is on the class path.
 */
@ConfiguratorRank(ConfiguratorRank.CUSTOM_HIGH_PRIORITY)
public final class LogConfigurator extends ContextAwareBase implements Configurator {
  static final String PATTERN = "%d{yyyy-MM-dd'T'HH:mm:ss.SSSSSS'Z',UTC}\t%level\t%logger\t%msg%n";

  public LogConfigurator() {}

  /** Whether to configure in code: only when logback would otherwise find no configuration of the user's. */
  static boolean inCharge(@Nullable String configurationFile, boolean classpathConfig) {
    return (configurationFile == null || configurationFile.isBlank()) && !classpathConfig;
  }

  @Override
  public ExecutionStatus configure(LoggerContext context) {
    ClassLoader cl = LogConfigurator.class.getClassLoader();
    boolean classpathConfig = cl != null
        && (cl.getResource("logback-test.xml") != null || cl.getResource("logback.xml") != null);
    if (!inCharge(System.getProperty("logback.configurationFile"), classpathConfig)) {
      return ExecutionStatus.INVOKE_NEXT_IF_ANY;
    }
    apply(context);
    return ExecutionStatus.DO_NOT_INVOKE_NEXT_IF_ANY;
  }

  /** Console appender with ztunnel's line format on the root logger; gRPC and Netty at WARN. */
  static void apply(LoggerContext context) {
    PatternLayoutEncoder encoder = new PatternLayoutEncoder();
    encoder.setContext(context);
    encoder.setPattern(PATTERN);
    encoder.start();
    ConsoleAppender<ILoggingEvent> console = new ConsoleAppender<>();
    console.setContext(context);
    console.setName("console");
    console.setEncoder(encoder);
    console.start();
    context.getLogger("io.grpc").setLevel(Level.WARN);
    context.getLogger("io.netty").setLevel(Level.WARN);
    ch.qos.logback.classic.Logger root = context.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
    root.setLevel(Level.INFO);
    root.addAppender(console);
  }
}
