package dev.ambient.xds.client;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.Any;
import com.google.protobuf.Message;
import dev.ambient.xds.api.Rpc;
import dev.ambient.xds.api.discovery.DeltaDiscoveryRequest;
import dev.ambient.xds.api.discovery.DeltaDiscoveryResponse;
import dev.ambient.xds.api.discovery.Resource;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.ServerCalls;
import io.grpc.stub.StreamObserver;
import io.netty.handler.ssl.SslContext;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.jspecify.annotations.Nullable;

/** An in-test delta ADS server on loopback that records requests and headers and pushes what a test says. */
final class FakeAdsServer implements AutoCloseable {
  final BlockingQueue<DeltaDiscoveryRequest> requests = new LinkedBlockingQueue<>();
  final BlockingQueue<Metadata> headers = new LinkedBlockingQueue<>();
  final AtomicInteger streams = new AtomicInteger();
  private volatile @Nullable StreamObserver<DeltaDiscoveryResponse> current;
  private final Server server;

  private FakeAdsServer(@Nullable SslContext tls) throws Exception {
    ServerServiceDefinition def = ServerServiceDefinition.builder("envoy.service.discovery.v3.AggregatedDiscoveryService")
        .addMethod(Rpc.DELTA_ADS, ServerCalls.asyncBidiStreamingCall(responses -> {
          current = responses;
          streams.incrementAndGet();
          return new StreamObserver<DeltaDiscoveryRequest>() {
            @Override
            public void onNext(DeltaDiscoveryRequest value) {
              requests.add(value);
            }

            @Override
            public void onError(Throwable t) {}

            @Override
            public void onCompleted() {}
          };
        }))
        .build();
    ServerInterceptor capture = new ServerInterceptor() {
      @Override
      public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata md, ServerCallHandler<Q, R> next) {
        headers.add(md);
        return next.startCall(call, md);
      }
    };
    NettyServerBuilder b = NettyServerBuilder.forAddress(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))
        .addService(ServerInterceptors.intercept(def, capture));
    if (tls != null) {
      b.sslContext(tls);
    }
    server = b.build().start();
  }

  static FakeAdsServer start() throws Exception {
    return new FakeAdsServer(null);
  }

  static FakeAdsServer startTls(SslContext tls) throws Exception {
    return new FakeAdsServer(tls);
  }

  int port() {
    return server.getPort();
  }

  XdsChannelFactory plaintext() {
    return XdsChannelFactory.plaintext("127.0.0.1", port());
  }

  /** The next request the client sent, failing the test after 5 s. */
  DeltaDiscoveryRequest next() throws InterruptedException {
    DeltaDiscoveryRequest r = requests.poll(5, TimeUnit.SECONDS);
    assertThat(r).as("a request from the client").isNotNull();
    return r;
  }

  void send(DeltaDiscoveryResponse response) {
    current.onNext(response);
  }

  void fail(Status status) {
    current.onError(status.asRuntimeException());
  }

  void complete() {
    current.onCompleted();
  }

  @Override
  public void close() {
    server.shutdownNow();
  }

  static Resource resource(String name, String version, Message body, String... aliases) {
    return Resource.newBuilder().setName(name).setVersion(version).setResource(Any.pack(body))
        .addAllAliases(List.of(aliases)).build();
  }

  static DeltaDiscoveryResponse response(String type, String nonce, List<Resource> resources, String... removed) {
    return DeltaDiscoveryResponse.newBuilder().setTypeUrl(type).setNonce(nonce).addAllResources(resources)
        .addAllRemovedResources(List.of(removed)).build();
  }
}
