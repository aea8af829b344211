package dev.ambient.xds.server;

import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Accepts a call only with {@code authorization: Bearer <token>} where the token is the first word
 * of a line of the tokens file (the CA's format {@code <token> <spiffe-id> [node-proxy]}; blank lines
 * and {@code #} comments ignored). Stands in for istiod's
 * TokenReview when there is no Kubernetes API.
 */
final class BearerTokens implements ServerInterceptor {
  static final Metadata.Key<String> AUTHORIZATION = Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);
  private final Set<String> tokens;

  private BearerTokens(Set<String> tokens) {
    this.tokens = Set.copyOf(tokens);
  }

  static BearerTokens load(Path file) {
    try {
      return new BearerTokens(Files.readAllLines(file).stream().map(String::strip)
          .filter(l -> !l.isEmpty() && !l.startsWith("#")).map(l -> l.split("\\s+")[0]).collect(Collectors.toSet()));
    } catch (IOException e) {
      throw new ControlPlaneException(ControlPlaneException.Reason.TOKENS, "cannot read the tokens file " + file + ": " + e, e);
    }
  }

  @Override
  public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
      ServerCallHandler<Q, R> next) {
    String auth = headers.get(AUTHORIZATION);
    if (auth == null || !auth.regionMatches(true, 0, "Bearer ", 0, 7) || !tokens.contains(auth.substring(7).strip())) {
      call.close(Status.UNAUTHENTICATED.withDescription(auth == null
          ? "no 'authorization: Bearer <token>' header; this control plane was started with --tokens"
          : "the bearer token is not in the control plane's --tokens file"), new Metadata());
      return new ServerCall.Listener<>() {};
    }
    return next.startCall(call, headers);
  }
}
