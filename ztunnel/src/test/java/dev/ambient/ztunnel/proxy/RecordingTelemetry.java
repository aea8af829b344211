package dev.ambient.ztunnel.proxy;

import dev.ambient.ztunnel.telemetry.ConnectionFacts;
import dev.ambient.ztunnel.telemetry.ConnectionTelemetry;
import dev.ambient.ztunnel.telemetry.ReportedConnection;
import dev.ambient.ztunnel.telemetry.Reporter;
import dev.ambient.ztunnel.telemetry.ResponseFlag;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.jspecify.annotations.Nullable;

/**
 * A {@link ConnectionTelemetry} that records every call, for assertions. Only the first {@code
 * close} of a connection is kept; later ones are counted in {@link #extraCloses}.
 */
public final class RecordingTelemetry implements ConnectionTelemetry {
  public record Closed(ConnectionFacts facts, long clientToServer, long serverToClient, ResponseFlag flag,
      @Nullable String error) {}

  public record Failed(Reporter reporter, InetSocketAddress source, InetSocketAddress destination, String error) {}

  public final List<ConnectionFacts> opened = new CopyOnWriteArrayList<>();
  public final List<Closed> closed = new CopyOnWriteArrayList<>();
  public final List<Failed> failed = new CopyOnWriteArrayList<>();
  /** The reporter of every {@code socketOpened}, in order. */
  public final List<Reporter> socketReporters = new CopyOnWriteArrayList<>();
  /** Sockets currently open. */
  public final AtomicInteger socketsOpen = new AtomicInteger();
  public final AtomicInteger socketsOpened = new AtomicInteger();
  public final AtomicInteger socketsClosed = new AtomicInteger();
  public final AtomicInteger extraCloses = new AtomicInteger();

  @Override
  public void socketOpened(Reporter reporter) {
    socketReporters.add(reporter);
    socketsOpen.incrementAndGet();
    socketsOpened.incrementAndGet();
  }

  @Override
  public void socketClosed(Reporter reporter) {
    socketsOpen.decrementAndGet();
    socketsClosed.incrementAndGet();
  }

  @Override
  public ReportedConnection opened(ConnectionFacts facts) {
    opened.add(facts);
    AtomicInteger calls = new AtomicInteger();
    return (up, down, flag, error) -> {
      if (calls.getAndIncrement() == 0) {
        closed.add(new Closed(facts, up, down, flag, error));
      } else {
        extraCloses.incrementAndGet();
      }
    };
  }

  @Override
  public void failed(Reporter reporter, InetSocketAddress source, InetSocketAddress destination, String error) {
    failed.add(new Failed(reporter, source, destination, error));
  }
}
