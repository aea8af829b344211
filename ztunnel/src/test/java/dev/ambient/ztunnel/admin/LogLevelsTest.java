package dev.ambient.ztunnel.admin;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.slf4j.Logger;

/** Level filters against a private logback context (the process one is exercised in AdminServerTest). */
class LogLevelsTest {
  private LoggerContext context;
  private LogLevels levels;

  @BeforeEach
  void context() {
    context = new LoggerContext();
    context.getLogger(Logger.ROOT_LOGGER_NAME).setLevel(Level.INFO);
    context.getLogger("dev.ambient.xds").setLevel(Level.WARN);
    levels = new LogLevels(context);
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', value = {
      "debug                               | =DEBUG",
      "access=debug                        | access=DEBUG",
      "access=debug,dev.ambient=info       | access=DEBUG;dev.ambient=INFO",
      "warn, access=trace                  | =WARN;access=TRACE",
      "ztunnel::proxy=off                  | ztunnel.proxy=OFF",
      "access=WARNING,                     | access=WARN",
  })
  void parse_valid(String filter, String expected) {
    Map<String, Level> parsed = LogLevels.parse(filter);
    StringBuilder b = new StringBuilder();
    parsed.forEach((k, v) -> b.append(b.isEmpty() ? "" : ";").append(k).append('=').append(v));
    assertThat(b.toString()).isEqualTo(expected);
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', value = {
      "loud                   | invalid log level 'loud'",
      "access=verbose         | invalid log level 'verbose' in 'access=verbose'",
      "=debug                 | empty target",
      "','                    | empty log filter",
  })
  void parse_invalid_namesTheProblem(String filter, String message) {
    assertThatThrownBy(() -> LogLevels.parse(filter))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining(message);
  }

  @Test
  void apply_changesLoggersOnTopOfCurrentLevels() {
    assertThat(levels.describe()).isEqualTo("info,dev.ambient.xds=warn");
    levels.apply("access=debug");
    levels.apply("warn");
    assertThat(context.getLogger("access").getEffectiveLevel()).isEqualTo(Level.DEBUG);
    assertThat(context.getLogger("dev.ambient.hbone").getEffectiveLevel()).isEqualTo(Level.WARN);
    assertThat(levels.describe()).isEqualTo("warn,access=debug,dev.ambient.xds=warn");
  }

  @Test
  void apply_invalidEntry_changesNothing() {
    assertThatThrownBy(() -> levels.apply("access=debug,bogus=loud")).isInstanceOf(IllegalArgumentException.class);
    assertThat(context.getLogger("access").getLevel()).isNull();
  }

  @Test
  void reset_restoresStartupLevels() {
    levels.apply("trace,access=debug,dev.ambient.xds=error");
    assertThat(levels.reset()).isEqualTo("info,dev.ambient.xds=warn");
    assertThat(context.getLogger("access").getLevel()).isNull();
    assertThat(context.getLogger("access").getEffectiveLevel()).isEqualTo(Level.INFO);
  }
}
