package dev.ambient.ztunnel.proxy.inbound;

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

/** A {@link ConnectionTelemetry} that records every call. */
final class RecordingTelemetry implements ConnectionTelemetry {
  record Closed(ConnectionFacts facts, long clientToServer, long serverToClient, ResponseFlag flag,
      @Nullable String error) {}

  record Failed(Reporter reporter, InetSocketAddress source, InetSocketAddress destination, String error) {}

  final List<ConnectionFacts> opened = new CopyOnWriteArrayList<>();
  final List<Closed> closed = new CopyOnWriteArrayList<>();
  final List<Failed> failed = new CopyOnWriteArrayList<>();
  final AtomicInteger socketsOpen = new AtomicInteger();
  final AtomicInteger socketsEverOpened = new AtomicInteger();

  @Override
  public void socketOpened(Reporter reporter) {
    socketsOpen.incrementAndGet();
    socketsEverOpened.incrementAndGet();
  }

  @Override
  public void socketClosed(Reporter reporter) {
    socketsOpen.decrementAndGet();
  }

  @Override
  public ReportedConnection opened(ConnectionFacts facts) {
    opened.add(facts);
    return (up, down, flag, error) -> closed.add(new Closed(facts, up, down, flag, error));
  }

  @Override
  public void failed(Reporter reporter, InetSocketAddress source, InetSocketAddress destination, String error) {
    failed.add(new Failed(reporter, source, destination, error));
  }
}
