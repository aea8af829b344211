package dev.ambient.ztunnel.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.joran.JoranConfigurator;
import ch.qos.logback.classic.spi.Configurator;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.LoggingEvent;
import ch.qos.logback.core.OutputStreamAppender;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.util.ServiceLoader;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

class LogConfiguratorTest {

  @ParameterizedTest
  @CsvSource(delimiter = '|', nullValues = "null", value = {
      "null|false|true",
      "''|false|true",
      "'  '|false|true",
      "logback-ztunnel.xml|false|false",
      "/etc/ztunnel/logback.xml|false|false",
      "null|true|false",
  })
  void inChargeOnlyWithoutAConfigurationOfTheUsers(@Nullable String file, boolean classpathConfig, boolean expected) {
    assertThat(LogConfigurator.inCharge(file, classpathConfig)).isEqualTo(expected);
  }

  @Test
  void sameLevelsAndLineAsTheXmlConfiguration() throws Exception {
    LoggerContext code = new LoggerContext();
    LogConfigurator.apply(code);
    LoggerContext xml = new LoggerContext();
    JoranConfigurator joran = new JoranConfigurator();
    joran.setContext(xml);
    URL file = LogConfigurator.class.getClassLoader().getResource("logback-ztunnel.xml");
    assertThat(file).isNotNull();
    joran.doConfigure(file);

    for (String name : new String[] {Logger.ROOT_LOGGER_NAME, "io.grpc", "io.netty", "dev.ambient.ztunnel"}) {
      assertThat(code.getLogger(name).getEffectiveLevel()).as(name).isEqualTo(xml.getLogger(name).getEffectiveLevel());
    }
    assertThat(code.getLogger("io.netty.channel").getEffectiveLevel()).isEqualTo(Level.WARN);
    assertThat(code.getLogger("dev.ambient.ztunnel.proxy").getEffectiveLevel()).isEqualTo(Level.INFO);

    String line = line(code);
    assertThat(line).isEqualTo(line(xml));
    assertThat(line).isEqualTo("2026-11-22T21:00:00.123000Z\tWARN\tdev.ambient.ztunnel.Test\tpeer closed\n");
  }

  @Test
  void registeredAsAServiceThatLogbackFinds() {
    assertThat(ServiceLoader.load(Configurator.class).stream().map(ServiceLoader.Provider::type))
        .contains(LogConfigurator.class);
  }

  @Test
  void stepsAsideWhenAConfigurationFileIsGiven() {
    String before = System.getProperty("logback.configurationFile");
    System.setProperty("logback.configurationFile", "logback-ztunnel.xml");
    try {
      LoggerContext context = new LoggerContext();
      LogConfigurator c = new LogConfigurator();
      c.setContext(context);
      assertThat(c.configure(context)).isEqualTo(Configurator.ExecutionStatus.INVOKE_NEXT_IF_ANY);
      assertThat(context.getLogger(Logger.ROOT_LOGGER_NAME).iteratorForAppenders().hasNext()).isFalse();
    } finally {
      if (before == null) {
        System.clearProperty("logback.configurationFile");
      } else {
        System.setProperty("logback.configurationFile", before);
      }
    }
  }

  /** The console appender's encoder's line for one fixed event. */
  private static String line(LoggerContext context) {
    @SuppressWarnings("unchecked")
    OutputStreamAppender<ILoggingEvent> console =
        (OutputStreamAppender<ILoggingEvent>) context.getLogger(Logger.ROOT_LOGGER_NAME).getAppender("console");
    assertThat(console).isNotNull();
    LoggingEvent e = new LoggingEvent();
    e.setLoggerName("dev.ambient.ztunnel.Test");
    e.setLevel(Level.WARN);
    e.setMessage("peer closed");
    e.setTimeStamp(java.time.Instant.parse("2026-11-22T21:00:00.123Z").toEpochMilli());
    e.setThreadName("t");
    e.setLoggerContext(context);
    return new String(console.getEncoder().encode(e), StandardCharsets.UTF_8);
  }
}
