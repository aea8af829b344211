package dev.ambient.ztunnel.proxy.outbound;

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

/** Records every telemetry call, for assertions. */
final class RecordingTelemetry implements ConnectionTelemetry {
  record Closed(ConnectionFacts facts, long clientToServer, long serverToClient, ResponseFlag flag, @Nullable String error) {}

  record Failed(Reporter reporter, InetSocketAddress source, InetSocketAddress destination, String error) {}

  final AtomicInteger socketsOpened = new AtomicInteger();
  final AtomicInteger socketsClosed = new AtomicInteger();
  final List<ConnectionFacts> opened = new CopyOnWriteArrayList<>();
  final List<Closed> closed = new CopyOnWriteArrayList<>();
  final List<Failed> failed = new CopyOnWriteArrayList<>();

  @Override
  public void socketOpened(Reporter reporter) {
    if (reporter != Reporter.SOURCE) {
      throw new AssertionError("outbound must report as source, got " + reporter);
    }
    socketsOpened.incrementAndGet();
  }

  @Override
  public void socketClosed(Reporter reporter) {
    socketsClosed.incrementAndGet();
  }

  @Override
  public ReportedConnection opened(ConnectionFacts facts) {
    opened.add(facts);
    AtomicInteger calls = new AtomicInteger();
    return (up, down, flag, error) -> {
      if (calls.getAndIncrement() == 0) {
        closed.add(new Closed(facts, up, down, flag, error));
      }
    };
  }

  @Override
  public void failed(Reporter reporter, InetSocketAddress source, InetSocketAddress destination, String error) {
    failed.add(new Failed(reporter, source, destination, error));
  }
}
