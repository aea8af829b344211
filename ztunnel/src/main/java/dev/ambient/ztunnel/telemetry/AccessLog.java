package dev.ambient.ztunnel.telemetry;

import static java.util.Objects.requireNonNull;

import dev.ambient.ztunnel.ZtunnelConfig.LogFormat;
import java.net.InetSocketAddress;
import java.util.List;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.event.Level;
import org.slf4j.spi.LoggingEventBuilder;

/**
 * The {@code access} log (spec §9.3): {@code connection opened} (DEBUG), {@code connection complete}
 * (INFO, or ERROR with {@code error}), {@code connection failed} (WARN). The message is
 * {@code <message>\t<k=v …>} for {@code LOG_FORMAT=plain} and a JSON object for {@code json}; the
 * fields are also attached as SLF4J key-value pairs for structured appenders. Nothing is rendered
 * when the level is disabled.
 */
public final class AccessLog {
  /** The logger (target) name. */
  public static final String LOGGER = "access";

  private final LogFormat format;
  private final Logger logger;

  public AccessLog(LogFormat format) {
    this(format, LoggerFactory.getLogger(LOGGER));
  }

  AccessLog(LogFormat format, Logger logger) {
    this.format = requireNonNull(format, "format");
    this.logger = requireNonNull(logger, "logger");
  }

  void opened(ConnectionFacts facts, TrafficLabels labels) {
    if (logger.isDebugEnabled()) {
      log(Level.DEBUG, AccessLogFields.OPENED, AccessLogFields.opened(facts, labels));
    }
  }

  void complete(ConnectionFacts facts, TrafficLabels labels, long clientToServer, long serverToClient,
      long durationMillis, @Nullable String error) {
    Level level = error == null ? Level.INFO : Level.ERROR;
    if (logger.isEnabledForLevel(level)) {
      log(level, AccessLogFields.COMPLETE,
          AccessLogFields.complete(facts, labels, clientToServer, serverToClient, durationMillis, error));
    }
  }

  void failed(Reporter reporter, InetSocketAddress source, InetSocketAddress destination, String error) {
    if (logger.isWarnEnabled()) {
      log(Level.WARN, AccessLogFields.FAILED, AccessLogFields.failed(reporter, source, destination, error));
    }
  }

  private void log(Level level, String message, List<AccessLogFields.Field> fields) {
    String text = format == LogFormat.JSON ? AccessLogFields.json(message, fields) : AccessLogFields.plain(message, fields);
    LoggingEventBuilder event = logger.atLevel(level).setMessage(text);
    for (AccessLogFields.Field f : fields) {
      event = event.addKeyValue(f.key(), f.value());
    }
    event.log();
  }
}
