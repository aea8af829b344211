package dev.ambient.xds.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ambient.xds.api.Rpc;
import dev.ambient.xds.api.discovery.DeltaDiscoveryRequest;
import dev.ambient.xds.api.discovery.DeltaDiscoveryResponse;
import dev.ambient.xds.api.discovery.Node;
import dev.ambient.xds.api.discovery.Status;
import io.grpc.ManagedChannel;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.StreamObserver;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/** A minimal delta ADS client for tests: sends what it is told and queues what it receives. */
final class AdsTestClient implements AutoCloseable {
  static final Node NODE = Node.newBuilder().setId("ztunnel~198.18.0.1~ztunnel-x.istio-system~istio-system.svc.cluster.local").build();

  final BlockingQueue<DeltaDiscoveryResponse> responses = new LinkedBlockingQueue<>();
  final BlockingQueue<Throwable> errors = new LinkedBlockingQueue<>();
  private final StreamObserver<DeltaDiscoveryRequest> requests;

  AdsTestClient(io.grpc.Channel channel) {
    requests = ClientCalls.asyncBidiStreamingCall(channel.newCall(Rpc.DELTA_ADS, io.grpc.CallOptions.DEFAULT),
        new StreamObserver<>() {
          @Override
          public void onNext(DeltaDiscoveryResponse value) {
            responses.add(value);
          }

          @Override
          public void onError(Throwable t) {
            errors.add(t);
          }

          @Override
          public void onCompleted() {
            errors.add(new IllegalStateException("completed"));
          }
        });
  }

  void send(DeltaDiscoveryRequest request) {
    requests.onNext(request);
  }

  void wildcard(String typeUrl) {
    send(DeltaDiscoveryRequest.newBuilder().setNode(NODE).setTypeUrl(typeUrl).build());
  }

  void wildcard(String typeUrl, Map<String, String> initialVersions) {
    send(DeltaDiscoveryRequest.newBuilder().setNode(NODE).setTypeUrl(typeUrl)
        .putAllInitialResourceVersions(initialVersions).build());
  }

  void onDemand(String typeUrl) {
    send(DeltaDiscoveryRequest.newBuilder().setNode(NODE).setTypeUrl(typeUrl)
        .addResourceNamesSubscribe("*").addResourceNamesUnsubscribe("*").build());
  }

  void subscribe(String typeUrl, String... names) {
    send(DeltaDiscoveryRequest.newBuilder().setTypeUrl(typeUrl).addAllResourceNamesSubscribe(List.of(names)).build());
  }

  void unsubscribe(String typeUrl, String... names) {
    send(DeltaDiscoveryRequest.newBuilder().setTypeUrl(typeUrl).addAllResourceNamesUnsubscribe(List.of(names)).build());
  }

  void ack(DeltaDiscoveryResponse response) {
    send(DeltaDiscoveryRequest.newBuilder().setTypeUrl(response.getTypeUrl()).setResponseNonce(response.getNonce()).build());
  }

  void nack(DeltaDiscoveryResponse response, String message) {
    send(DeltaDiscoveryRequest.newBuilder().setTypeUrl(response.getTypeUrl()).setResponseNonce(response.getNonce())
        .setErrorDetail(Status.newBuilder().setMessage(message)).build());
  }

  /** The next response, which must arrive within 10 s; ACKed unless told otherwise. */
  DeltaDiscoveryResponse next() throws InterruptedException {
    DeltaDiscoveryResponse r = responses.poll(10, TimeUnit.SECONDS);
    assertThat(r).as("a response within 10 s (stream errors: %s)", errors).isNotNull();
    return r;
  }

  DeltaDiscoveryResponse nextAcked() throws InterruptedException {
    DeltaDiscoveryResponse r = next();
    ack(r);
    return r;
  }

  @Override
  public void close() {
    try {
      requests.onCompleted();
    } catch (RuntimeException ignored) {
      // already gone
    }
  }
}
