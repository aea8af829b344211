package dev.ambient.xds.client;

import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.ForwardingClientCall;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import java.io.IOException;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Adds istiod's per-request metadata (spec §2.1) to every call: {@code authorization: Bearer},
 * {@code clusterid}, and the {@code XDS_HEADER_*} extras. The token is read when the call starts,
 * so a rotated token file is picked up by the next stream.
 */
final class HeadersInterceptor implements ClientInterceptor {
  private static final Logger log = LoggerFactory.getLogger(HeadersInterceptor.class);
  private static final Metadata.Key<String> AUTHORIZATION =
      Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);
  private static final Metadata.Key<String> CLUSTER_ID = Metadata.Key.of("clusterid", Metadata.ASCII_STRING_MARSHALLER);

  private final AuthToken token;
  private final String clusterId;
  private final Map<String, String> extra;

  HeadersInterceptor(AuthToken token, String clusterId, Map<String, String> extra) {
    this.token = token;
    this.clusterId = clusterId;
    this.extra = Map.copyOf(extra);
  }

  @Override
  public <Q, R> ClientCall<Q, R> interceptCall(MethodDescriptor<Q, R> method, CallOptions options, Channel next) {
    return new ForwardingClientCall.SimpleForwardingClientCall<>(next.newCall(method, options)) {
      @Override
      public void start(Listener<R> listener, Metadata headers) {
        apply(headers);
        super.start(listener, headers);
      }
    };
  }

  void apply(Metadata headers) {
    try {
      Optional<String> t = token.read();
      t.ifPresent(v -> headers.put(AUTHORIZATION, "Bearer " + v));
    } catch (IOException e) {
      // istiod will answer UNAUTHENTICATED, which the backoff handles; say why here.
      log.warn("could not read the xDS auth token ({}): sending none", e.toString());
    }
    headers.put(CLUSTER_ID, clusterId);
    extra.forEach((k, v) -> headers.put(Metadata.Key.of(k, Metadata.ASCII_STRING_MARSHALLER), v));
  }
}
