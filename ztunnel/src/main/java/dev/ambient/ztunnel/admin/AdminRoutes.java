package dev.ambient.ztunnel.admin;

import static java.util.Objects.requireNonNull;

import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The admin API's routes (spec §9.5); see {@link AdminServer}. */
final class AdminRoutes implements Router {
  private static final Logger log = LoggerFactory.getLogger(AdminRoutes.class);

  static final String LOGGING_USAGE = """
      usage: POST /logging                       show the current log levels
             POST /logging?level=<level>         set the default level (trace, debug, info, warn, error, off)
             POST /logging?level=<target>=<level>[,<target>=<level>|<level>...]
                                                 set levels per logger, e.g. level=access=debug,dev.ambient=info
             POST /logging?reset                 restore the levels from start-up
      """;

  static final String INDEX = """
      <!DOCTYPE html>
      <html><head><title>ztunnel admin</title></head><body>
      <h1>ztunnel admin</h1>
      <table>
      <tr><td><a href="/config_dump">/config_dump</a></td><td>workloads, services, policies, certificates and configuration (JSON)</td></tr>
      <tr><td>/logging</td><td>POST: show or change log levels (<code>?level=debug</code>, <code>?level=access=debug</code>, <code>?reset</code>)</td></tr>
      <tr><td>/quitquitquit</td><td>POST: drain gracefully and exit</td></tr>
      </table>
      </body></html>
      """;

  private final Supplier<String> configDump;
  private final LogLevels logLevels;
  private final Supplier<? extends CompletableFuture<?>> shutdown;
  private final Duration terminationDeadline;
  private final AtomicReference<CompletableFuture<?>> shutdownStarted = new AtomicReference<>();

  AdminRoutes(Supplier<String> configDump, LogLevels logLevels, Supplier<? extends CompletableFuture<?>> shutdown,
      Duration terminationDeadline) {
    this.configDump = requireNonNull(configDump, "configDump");
    this.logLevels = requireNonNull(logLevels, "logLevels");
    this.shutdown = requireNonNull(shutdown, "shutdown");
    this.terminationDeadline = requireNonNull(terminationDeadline, "terminationDeadline");
  }

  @Override
  public CompletionStage<Reply> route(Request request) {
    return switch (request.path()) {
      case "/" -> done(new Reply(HttpResponseStatus.OK, Reply.HTML, INDEX.getBytes(StandardCharsets.UTF_8)));
      case "/config_dump" -> done(new Reply(HttpResponseStatus.OK, Reply.JSON,
          configDump.get().getBytes(StandardCharsets.UTF_8)));
      case "/logging" -> done(logging(request));
      case "/quitquitquit" -> quit(request);
      default -> done(Reply.notFound());
    };
  }

  Reply logging(Request request) {
    if (!request.method().equals(HttpMethod.POST)) {
      return Reply.methodNotAllowed(LOGGING_USAGE);
    }
    if (request.hasParam("reset")) {
      String now = logLevels.reset();
      log.info("log levels reset through the admin API: {}", now);
      return Reply.text(HttpResponseStatus.OK, "log level reset to " + now + "\n");
    }
    if (request.hasParam("level")) {
      String filter = request.param("level").orElse("");
      try {
        String now = logLevels.apply(filter);
        log.info("log levels changed through the admin API to {}", now);
        return Reply.text(HttpResponseStatus.OK, "new log level is " + now + "\n");
      } catch (IllegalArgumentException e) {
        return Reply.text(HttpResponseStatus.BAD_REQUEST, e.getMessage() + "\n" + LOGGING_USAGE);
      }
    }
    return Reply.text(HttpResponseStatus.OK, "current log level is " + logLevels.describe() + "\n");
  }

  /** Starts the shutdown once; every caller waits for it, at most the termination deadline. */
  CompletionStage<Reply> quit(Request request) {
    if (!request.method().equals(HttpMethod.POST)) {
      return done(Reply.methodNotAllowed("method not allowed: use POST /quitquitquit\n"));
    }
    CompletableFuture<?> running = shutdownStarted.get();
    if (running == null) {
      CompletableFuture<Object> placeholder = new CompletableFuture<>();
      if (shutdownStarted.compareAndSet(null, placeholder)) {
        log.info("shutdown requested through the admin API");
        try {
          shutdown.get().whenComplete((v, e) -> placeholder.complete(null));
        } catch (RuntimeException e) {
          log.warn("shutdown trigger failed", e);
          placeholder.complete(null);
        }
      }
      running = shutdownStarted.get();
    }
    Reply reply = Reply.text(HttpResponseStatus.OK, "shutdown now\n");
    return requireNonNull(running)
        .handle((v, e) -> reply)
        .completeOnTimeout(reply, terminationDeadline.toMillis(), TimeUnit.MILLISECONDS);
  }

  private static CompletionStage<Reply> done(Reply reply) {
    return CompletableFuture.completedFuture(reply);
  }
}
