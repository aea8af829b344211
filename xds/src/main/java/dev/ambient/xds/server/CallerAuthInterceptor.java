package dev.ambient.xds.server;

import dev.ambient.xds.ca.CaException;
import dev.ambient.xds.ca.CallerAuthenticator;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;

/**
 * Admits an xDS stream only when a {@link CallerAuthenticator} accepts its headers (istiod
 * authenticates ztunnel's xDS stream with the same TokenReview as the CA). A refusal closes the call
 * with the authenticator's status: {@code UNAUTHENTICATED}, or {@code UNAVAILABLE} when it could not
 * decide (the client retries with backoff).
 */
final class CallerAuthInterceptor implements ServerInterceptor {
  private final CallerAuthenticator authenticator;

  CallerAuthInterceptor(CallerAuthenticator authenticator) {
    this.authenticator = authenticator;
  }

  @Override
  public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
      ServerCallHandler<Q, R> next) {
    try {
      authenticator.authenticate(headers);
    } catch (CaException e) {
      call.close(e.toStatus(), new Metadata());
      return new ServerCall.Listener<>() {};
    }
    return next.startCall(call, headers);
  }

  @Override
  public String toString() {
    return "CallerAuthInterceptor{" + authenticator + "}";
  }
}
