package dev.ambient.xds.ca;

import static java.util.Objects.requireNonNull;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import dev.ambient.identity.InvalidSpiffeIdException;
import dev.ambient.identity.SpiffeId;
import dev.ambient.xds.api.Rpc;
import dev.ambient.xds.api.ca.IstioCertificateRequest;
import dev.ambient.xds.api.ca.IstioCertificateResponse;
import io.grpc.BindableService;
import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.stub.ServerCalls;
import io.grpc.stub.StreamObserver;
import java.time.Duration;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * istiod's {@code istio.v1.auth.IstioCertificateService/CreateCertificate} (spec istio-ambient §5),
 * to be added to a gRPC server that serves TLS (the control plane's 15012).
 *
 * <h2>Authorization</h2>
 * The caller is authenticated from the request headers by a {@link CallerAuthenticator}. Without
 * {@code ImpersonatedIdentity} in the request metadata the CSR's SPIFFE SAN must be the caller's own
 * identity. With it, the caller must be a node proxy, the value must be a SPIFFE id, and the
 * {@link ImpersonationPolicy} must allow it (istiod: a pod with that identity runs on the caller's
 * node); any refusal is {@code UNAUTHENTICATED}, as opaque as istiod's. The CSR must then ask for
 * exactly that identity.
 *
 * <h2>Statuses</h2>
 * {@code UNAUTHENTICATED} (no or unknown token, impersonation refused), {@code INVALID_ARGUMENT}
 * (malformed CSR, bad signature, not one SPIFFE SAN, TTL above the maximum), {@code
 * PERMISSION_DENIED} (the CSR asks for an identity other than the one allowed), {@code INTERNAL}
 * (signing failed). Each carries a message naming the problem.
 *
 * <h2>Threading</h2>
 * Stateless; calls run on the server's executor and may run concurrently.
 */
public final class CaService implements BindableService {
  private static final Logger log = LoggerFactory.getLogger(CaService.class);
  /** The request metadata key ztunnel sets in shared mode. */
  public static final String IMPERSONATED_IDENTITY = "ImpersonatedIdentity";

  private static final Context.Key<Metadata> HEADERS = Context.key("ca-request-headers");

  /** Decides whether a node proxy may get a certificate for another identity. Must be thread-safe. */
  @FunctionalInterface
  public interface ImpersonationPolicy {
    /** Every node proxy may impersonate anyone (standalone control plane, tests). */
    ImpersonationPolicy ANY_FOR_NODE_PROXIES = (caller, requested, headers) -> true;

    boolean allows(CallerAuthenticator.Caller caller, SpiffeId requested, Metadata headers);
  }

  private final CertificateAuthority ca;
  private final CallerAuthenticator authenticator;
  private final ImpersonationPolicy impersonation;
  private final boolean selfDeclared;

  private CaService(CertificateAuthority ca, CallerAuthenticator authenticator, ImpersonationPolicy impersonation,
      boolean selfDeclared) {
    this.ca = ca;
    this.authenticator = authenticator;
    this.impersonation = impersonation;
    this.selfDeclared = selfDeclared;
  }

  /**
   * A service for a control plane without authentication (no tokens): a caller that does not ask
   * to impersonate gets the identity its CSR names. Node proxies may still impersonate anyone, so
   * this opens nothing that was closed; it lets a dedicated-mode ztunnel, which asks for its own
   * workload identity, work against it.
   */
  public static CaService unauthenticated(CertificateAuthority ca, CallerAuthenticator authenticator) {
    return new CaService(requireNonNull(ca, "ca"), requireNonNull(authenticator, "authenticator"),
        ImpersonationPolicy.ANY_FOR_NODE_PROXIES, true);
  }

  /** A service where node proxies may impersonate any identity ({@link ImpersonationPolicy#ANY_FOR_NODE_PROXIES}). */
  public static CaService of(CertificateAuthority ca, CallerAuthenticator authenticator) {
    return of(ca, authenticator, ImpersonationPolicy.ANY_FOR_NODE_PROXIES);
  }

  public static CaService of(
      CertificateAuthority ca, CallerAuthenticator authenticator, ImpersonationPolicy impersonation) {
    return new CaService(requireNonNull(ca, "ca"), requireNonNull(authenticator, "authenticator"),
        requireNonNull(impersonation, "impersonation"), false);
  }

  @Override
  public ServerServiceDefinition bindService() {
    ServerServiceDefinition definition = ServerServiceDefinition
        .builder(Rpc.CREATE_CERTIFICATE.getServiceName())
        .addMethod(Rpc.CREATE_CERTIFICATE, ServerCalls.asyncUnaryCall(this::createCertificate))
        .build();
    // The unary handler does not see headers; carry them in the gRPC Context.
    ServerInterceptor headers = new ServerInterceptor() {
      @Override
      public <Q, R> ServerCall.Listener<Q> interceptCall(
          ServerCall<Q, R> call, Metadata metadata, ServerCallHandler<Q, R> next) {
        return Contexts.interceptCall(Context.current().withValue(HEADERS, metadata), call, metadata, next);
      }
    };
    return ServerInterceptors.intercept(definition, headers);
  }

  private void createCertificate(IstioCertificateRequest request, StreamObserver<IstioCertificateResponse> out) {
    Metadata headers = HEADERS.get();
    if (headers == null) {
      headers = new Metadata();
    }
    IstioCertificateResponse response;
    try {
      response = handle(request, headers);
    } catch (CaException e) {
      log.info("CA: refused CreateCertificate: {}", e.toString());
      out.onError(e.toStatus().asRuntimeException());
      return;
    } catch (RuntimeException e) {
      log.warn("CA: CreateCertificate failed", e);
      out.onError(Status.INTERNAL.withDescription("CA internal error: " + e).withCause(e).asRuntimeException());
      return;
    }
    out.onNext(response);
    out.onCompleted();
  }

  /** The decision and the signing, without gRPC plumbing. */
  IstioCertificateResponse handle(IstioCertificateRequest request, Metadata headers) {
    CallerAuthenticator.Caller caller = authenticator.authenticate(headers);
    PKCS10CertificationRequest csr = Csr.parse(request.getCsr());
    SpiffeId expected = allowedIdentity(caller, request.getMetadata(), headers, csr);
    IssuedChain chain = ca.sign(csr, expected,
        Duration.ofSeconds(Math.max(0, request.getValidityDuration())));
    log.debug("CA: issued {} to {} (serial {}, until {})", expected, caller.identity(),
        chain.leaf().getSerialNumber().toString(16), chain.leaf().getNotAfter().toInstant());
    return IstioCertificateResponse.newBuilder().addAllCertChain(chain.toCertChain()).build();
  }

  private SpiffeId allowedIdentity(CallerAuthenticator.Caller caller, Struct metadata, Metadata headers,
      PKCS10CertificationRequest csr) {
    Value v = metadata.getFieldsMap().get(IMPERSONATED_IDENTITY);
    if (v == null || (v.hasStringValue() && v.getStringValue().isEmpty())) {
      return selfDeclared ? CertificateAuthority.requestedIdentity(csr) : caller.identity();
    }
    if (!v.hasStringValue()) {
      throw new CaException(CaException.Reason.INVALID_REQUEST,
          "metadata " + IMPERSONATED_IDENTITY + " must be a string SPIFFE id, found " + v.getKindCase());
    }
    if (!caller.nodeProxy()) {
      throw new CaException(CaException.Reason.UNAUTHENTICATED,
          "authentication failure: " + caller.identity() + " asked for " + v.getStringValue()
              + " but is not a trusted node proxy (CA_TRUSTED_NODE_ACCOUNTS)");
    }
    SpiffeId requested;
    try {
      requested = SpiffeId.parse(v.getStringValue());
    } catch (InvalidSpiffeIdException e) {
      throw new CaException(CaException.Reason.UNAUTHENTICATED,
          "authentication failure: " + IMPERSONATED_IDENTITY + " is not a SPIFFE id: " + e.getMessage(), e);
    }
    if (!impersonation.allows(caller, requested, headers)) {
      throw new CaException(CaException.Reason.UNAUTHENTICATED,
          "authentication failure: node proxy " + caller.identity() + " may not request " + requested
              + " (no workload with that identity on its node?)");
    }
    return requested;
  }

  @Override
  public String toString() {
    return "CaService{" + ca + ", " + authenticator + "}";
  }
}
