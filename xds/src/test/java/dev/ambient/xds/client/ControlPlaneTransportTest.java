package dev.ambient.xds.client;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ambient.xds.api.Rpc;
import dev.ambient.xds.api.ca.IstioCertificateRequest;
import dev.ambient.xds.api.ca.IstioCertificateResponse;
import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.netty.NettyChannelBuilder;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class ControlPlaneTransportTest {

  @Test
  void channelsToTheControlPlaneShareOneLoopOfTheirOwn() throws Exception {
    try (FakeAdsServer server = FakeAdsServer.start()) {
      ManagedChannel a = channel(server.port());
      ManagedChannel b = channel(server.port());
      try {
        // With a direct executor the call's callbacks run on the channel's event loop thread.
        String first = transportThreadOf(a);
        String second = transportThreadOf(b);
        assertThat(first).startsWith(ControlPlaneTransport.THREAD_NAME + "-");
        assertThat(second).isEqualTo(first);
      } finally {
        a.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        b.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
    }
  }

  private static ManagedChannel channel(int port) {
    return ControlPlaneTransport.configure(NettyChannelBuilder.forAddress("127.0.0.1", port))
        .usePlaintext()
        .directExecutor()
        .build();
  }

  /** A call the fake server does not implement: its UNIMPLEMENTED close arrives on the transport thread. */
  private static String transportThreadOf(ManagedChannel channel) throws Exception {
    CompletableFuture<String> thread = new CompletableFuture<>();
    ClientCall<IstioCertificateRequest, IstioCertificateResponse> call =
        channel.newCall(Rpc.CREATE_CERTIFICATE, CallOptions.DEFAULT);
    call.start(new ClientCall.Listener<>() {
      @Override
      public void onClose(Status status, Metadata trailers) {
        if (status.getCode() == Status.Code.UNIMPLEMENTED) {
          thread.complete(Thread.currentThread().getName());
        } else {
          thread.completeExceptionally(status.asException());
        }
      }
    }, new Metadata());
    call.sendMessage(IstioCertificateRequest.getDefaultInstance());
    call.halfClose();
    call.request(1);
    return thread.get(10, TimeUnit.SECONDS);
  }
}
