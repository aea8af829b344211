package dev.ambient.xds.server;

import static java.util.Objects.requireNonNull;

import dev.ambient.xds.api.Rpc;
import dev.ambient.xds.api.discovery.DeltaDiscoveryResponse;
import io.grpc.ServerServiceDefinition;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.ServerCalls;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * istiod's delta ADS ({@code DeltaAggregatedResources}) over a {@link ResourceStore}: wildcard and
 * on-demand subscriptions, {@code initial_resource_versions} on reconnect, aliases, nonces with
 * ACK/NACK tracking, and a delta pushed to every stream when the store changes.
 *
 * <p>Bind {@link #bindService()} into a gRPC server. Each stream runs on its own serial executor
 * (see {@link DeltaStream}); this class only keeps the set of open streams for {@link #closeAll}.
 */
public final class DeltaAdsServer {
  /** Counters, for logs and tests. */
  public static final class Metrics {
    final LongAdder responses = new LongAdder();
    final LongAdder acks = new LongAdder();
    final LongAdder nacks = new LongAdder();
    final LongAdder streams = new LongAdder();

    public long responses() {
      return responses.sum();
    }

    public long acks() {
      return acks.sum();
    }

    public long nacks() {
      return nacks.sum();
    }

    /** Streams ever opened. */
    public long streams() {
      return streams.sum();
    }
  }

  private final ResourceStore store;
  private final Set<DeltaStream> open = ConcurrentHashMap.newKeySet();
  private final AtomicLong ids = new AtomicLong();
  private final Metrics metrics = new Metrics();

  private DeltaAdsServer(ResourceStore store) {
    this.store = store;
  }

  public static DeltaAdsServer of(ResourceStore store) {
    return new DeltaAdsServer(requireNonNull(store, "store"));
  }

  public ServerServiceDefinition bindService() {
    return ServerServiceDefinition.builder("envoy.service.discovery.v3.AggregatedDiscoveryService")
        .addMethod(Rpc.DELTA_ADS, ServerCalls.asyncBidiStreamingCall(responses -> {
          DeltaStream stream = new DeltaStream(ids.incrementAndGet(), store,
              (ServerCallStreamObserver<DeltaDiscoveryResponse>) responses, this);
          open.add(stream);
          metrics.streams.increment();
          stream.start();
          return stream;
        }))
        .build();
  }

  public Metrics metrics() {
    return metrics;
  }

  /** Streams currently open. */
  public int openStreams() {
    return open.size();
  }

  /** Ends every open stream (graceful: the clients see a clean end and reconnect elsewhere). */
  public void closeAll() {
    for (DeltaStream s : List.copyOf(open)) {
      s.close(null);
    }
  }

  void streamClosed(DeltaStream stream) {
    open.remove(stream);
  }
}
