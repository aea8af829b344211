package dev.ambient.xds.ca;

import static java.util.Objects.requireNonNull;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import dev.ambient.identity.Pem;
import dev.ambient.identity.SpiffeId;
import dev.ambient.identity.TrustBundle;
import dev.ambient.identity.WorkloadCertificate;
import dev.ambient.xds.api.Rpc;
import dev.ambient.xds.api.ca.IstioCertificateRequest;
import dev.ambient.xds.api.ca.IstioCertificateResponse;
import dev.ambient.xds.client.ControlPlaneTransport;
import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ChannelCredentials;
import io.grpc.ClientInterceptors;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.TlsChannelCredentials;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.MetadataUtils;
import io.grpc.stub.StreamObserver;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;

/**
 * ztunnel's CA client (spec ztunnel §8.2–8.4): one unary {@code CreateCertificate} per
 * {@link #fetch}, over a TLS channel verified against {@code CA_ROOT_CA}.
 *
 * <h2>Request</h2>
 * A fresh {@link Csr} per call; {@code validity_duration} = {@link Builder#ttl} in seconds
 * ({@code SECRET_TTL}, default 24 h); {@code metadata.ImpersonatedIdentity} only in
 * {@linkplain Builder#sharedMode shared mode}. Headers: {@code authorization: Bearer <token>} (the
 * {@link TokenSource} is consulted on every call, so a rotated token file is picked up),
 * {@code clusterid}, and the {@code CA_HEADER_*} extras.
 *
 * <h2>Response</h2>
 * Element 0 is the leaf, the last element the root bundle (possibly several roots), those between
 * are intermediates. An empty chain or one without a root fails with {@link
 * CaException.Reason#EMPTY_CHAIN}; in shared mode a leaf whose first SPIFFE SAN is not the requested
 * identity fails with {@link CaException.Reason#SAN_MISMATCH}.
 *
 * <h2>Threading</h2>
 * Thread-safe. {@link #fetch} reads the token file on the caller's thread and returns at once; the
 * future completes on a gRPC thread.
 */
public final class CaClient implements CertificateFetcher, AutoCloseable {
  /** ztunnel's {@code SECRET_TTL} default. */
  public static final Duration DEFAULT_TTL = Duration.ofHours(24);
  /** Deadline of one CSR call. */
  public static final Duration DEFAULT_CALL_TIMEOUT = Duration.ofSeconds(10);

  private static final Metadata.Key<String> AUTHORIZATION = CallerAuthenticator.AUTHORIZATION;
  private static final Metadata.Key<String> CLUSTER_ID = CallerAuthenticator.CLUSTER_ID;

  private final CaChannel channel;
  private final TokenSource tokenSource;
  private final @Nullable String clusterId;
  private final Map<String, String> extraHeaders;
  private final Duration ttl;
  private final Duration callTimeout;
  private final boolean sharedMode;

  CaClient(Builder b, CaChannel channel) {
    this.channel = channel;
    this.tokenSource = b.tokenSource;
    this.clusterId = b.clusterId;
    this.extraHeaders = Map.copyOf(b.extraHeaders);
    this.ttl = b.ttl;
    this.callTimeout = b.callTimeout;
    this.sharedMode = b.sharedMode;
  }

  public static Builder builder() {
    return new Builder();
  }

  @Override
  public CompletableFuture<WorkloadCertificate> fetch(SpiffeId identity) {
    requireNonNull(identity, "identity");
    CompletableFuture<WorkloadCertificate> result = new CompletableFuture<>();
    Csr csr;
    Metadata headers;
    try {
      csr = Csr.generate(identity);
      headers = headers();
    } catch (CaException e) {
      result.completeExceptionally(e);
      return result;
    }
    IstioCertificateRequest.Builder request = IstioCertificateRequest.newBuilder()
        .setCsr(csr.pem())
        .setValidityDuration(ttl.toSeconds());
    if (sharedMode) {
      request.setMetadata(Struct.newBuilder()
          .putFields(CaService.IMPERSONATED_IDENTITY, Value.newBuilder().setStringValue(identity.toString()).build()));
    }
    // Headers are per call: the token file is re-read for every request.
    // The root file is looked at first: a rotated CA_ROOT_CA gives a new channel before this CSR.
    Channel withHeaders = ClientInterceptors.intercept(channel.current(), MetadataUtils.newAttachHeadersInterceptor(headers));
    ClientCalls.asyncUnaryCall(
        withHeaders.newCall(Rpc.CREATE_CERTIFICATE,
            CallOptions.DEFAULT.withDeadlineAfter(callTimeout.toMillis(), TimeUnit.MILLISECONDS)),
        request.build(),
        new StreamObserver<>() {
          @Override
          public void onNext(IstioCertificateResponse response) {
            try {
              result.complete(toCertificate(response.getCertChainList(), csr.privateKey(), identity, sharedMode));
            } catch (CaException e) {
              result.completeExceptionally(e);
            }
          }

          @Override
          public void onError(Throwable t) {
            Status s = Status.fromThrowable(t);
            result.completeExceptionally(new CaException(CaException.Reason.CA_CALL_FAILED,
                "CA call for " + identity + " failed: " + s.getCode()
                    + (s.getDescription() != null ? ": " + s.getDescription() : "")
                    + (s.getCode() == Status.Code.UNAUTHENTICATED
                        ? " (check the token and clusterid)" : ""), t));
          }

          @Override
          public void onCompleted() {
            if (!result.isDone()) {
              result.completeExceptionally(new CaException(CaException.Reason.EMPTY_CHAIN,
                  "CA call for " + identity + " completed without a response"));
            }
          }
        });
    return result;
  }

  private Metadata headers() {
    Metadata md = new Metadata();
    Optional<String> token = tokenSource.currentToken();
    token.ifPresent(t -> md.put(AUTHORIZATION, "Bearer " + t));
    if (clusterId != null) {
      md.put(CLUSTER_ID, clusterId);
    }
    extraHeaders.forEach((k, v) -> md.put(Metadata.Key.of(k, Metadata.ASCII_STRING_MARSHALLER), v));
    return md;
  }

  /**
   * Turns a {@code cert_chain} into a certificate (spec ztunnel §8.3).
   *
   * @param checkSan whether the leaf's first SPIFFE SAN must equal {@code requested} (shared mode)
   */
  static WorkloadCertificate toCertificate(
      List<String> chain, PrivateKey key, SpiffeId requested, boolean checkSan) {
    if (chain.isEmpty()) {
      throw new CaException(CaException.Reason.EMPTY_CHAIN, "the CA returned an empty certificate chain for " + requested);
    }
    if (chain.size() == 1) {
      throw new CaException(CaException.Reason.EMPTY_CHAIN,
          "the CA returned only one certificate for " + requested + " (no root bundle as the last element)");
    }
    try {
      List<X509Certificate> leafs = Pem.certificates(chain.getFirst());
      if (leafs.isEmpty()) {
        throw new CaException(CaException.Reason.EMPTY_CHAIN, "the first cert_chain element holds no certificate");
      }
      List<X509Certificate> intermediates = new ArrayList<>();
      for (String element : chain.subList(1, chain.size() - 1)) {
        intermediates.addAll(Pem.certificates(element));
      }
      TrustBundle roots = TrustBundle.fromPem(chain.getLast());
      WorkloadCertificate cert = WorkloadCertificate.of(key, leafs.getFirst(), intermediates, roots);
      if (checkSan && !cert.identity().equals(requested)) {
        throw new CaException(CaException.Reason.SAN_MISMATCH,
            "requested " + requested + " but the CA issued a certificate for " + cert.identity());
      }
      return cert;
    } catch (IllegalArgumentException e) {
      throw new CaException(CaException.Reason.EMPTY_CHAIN,
          "unusable certificate chain from the CA for " + requested + ": " + e.getMessage(), e);
    }
  }

  @Override
  public void close() {
    channel.shutdownNow();
  }

  @Override
  public String toString() {
    return "CaClient{" + channel.authority() + (sharedMode ? ", shared" : ", dedicated") + "}";
  }

  /** Builds a {@link CaClient}. Required: {@link #address} and {@link #rootCertPem} (or {@link #rootCertFile}). */
  public static final class Builder {
    private @Nullable String address;
    private @Nullable String rootCertPem;
    private @Nullable Path rootCertFile;
    private @Nullable String authorityOverride;
    private TokenSource tokenSource = new TokenSource.None();
    private @Nullable String clusterId;
    private final Map<String, String> extraHeaders = new LinkedHashMap<>();
    private Duration ttl = DEFAULT_TTL;
    private Duration callTimeout = DEFAULT_CALL_TIMEOUT;
    private boolean sharedMode;

    Builder() {}

    /** {@code CA_ADDRESS}, a gRPC target such as {@code istiod.istio-system.svc:15012}. */
    public Builder address(String address) {
      this.address = requireNonNull(address, "address");
      return this;
    }

    /** The roots that verify the CA's TLS certificate ({@code CA_ROOT_CA} content). */
    public Builder rootCertPem(String pem) {
      this.rootCertPem = requireNonNull(pem, "pem");
      this.rootCertFile = null;
      return this;
    }

    /**
     * Reads {@code CA_ROOT_CA} now, and again before a CSR whenever the file has changed: the channel
     * is then rebuilt with the new roots (spec §8.3; see {@link CaChannel}).
     */
    public Builder rootCertFile(Path file) {
      requireNonNull(file, "file");
      this.rootCertFile = file;
      try {
        this.rootCertPem = Files.readString(file, StandardCharsets.US_ASCII);
      } catch (IOException e) {
        throw new IllegalStateException("cannot read CA_ROOT_CA " + file + ": " + e.getMessage(), e);
      }
      return this;
    }

    /** {@code ALT_CA_HOSTNAME}: the name to verify in the CA's certificate instead of the address host. */
    public Builder authorityOverride(String hostname) {
      this.authorityOverride = requireNonNull(hostname, "hostname");
      return this;
    }

    public Builder tokenSource(TokenSource tokenSource) {
      this.tokenSource = requireNonNull(tokenSource, "tokenSource");
      return this;
    }

    /** {@code CLUSTER_ID}, sent as {@code clusterid}. */
    public Builder clusterId(String clusterId) {
      this.clusterId = requireNonNull(clusterId, "clusterId");
      return this;
    }

    /** A {@code CA_HEADER_<NAME>} entry; {@code name} is lower-cased as gRPC requires. */
    public Builder extraHeader(String name, String value) {
      requireNonNull(name, "name");
      requireNonNull(value, "value");
      extraHeaders.put(name.toLowerCase(Locale.ROOT), value);
      return this;
    }

    /** {@code SECRET_TTL}: the {@code validity_duration} requested; default 24 h. */
    public Builder ttl(Duration ttl) {
      requireNonNull(ttl, "ttl");
      if (ttl.toSeconds() <= 0) {
        throw new IllegalArgumentException("ttl must be at least one second, was " + ttl);
      }
      this.ttl = ttl;
      return this;
    }

    /** The deadline of one call; default 10 s. */
    public Builder callTimeout(Duration callTimeout) {
      requireNonNull(callTimeout, "callTimeout");
      if (callTimeout.isNegative() || callTimeout.isZero()) {
        throw new IllegalArgumentException("callTimeout must be positive, was " + callTimeout);
      }
      this.callTimeout = callTimeout;
      return this;
    }

    /**
     * Shared (node proxy) mode: certificates are requested on behalf of pods with
     * {@code ImpersonatedIdentity}, and the issued SAN is checked. Default: dedicated.
     */
    public Builder sharedMode(boolean sharedMode) {
      this.sharedMode = sharedMode;
      return this;
    }

    /**
     * Builds the client and its channel (connected lazily).
     *
     * @throws IllegalStateException when the address or roots are missing or the roots do not parse
     */
    /**
     * The gRPC target for a {@code CA_ADDRESS}: Istio writes it as a URL ({@code
     * https://istiod.istio-system.svc:15012}), which gRPC would read as a name-resolver scheme;
     * {@code host:port} is what it wants. A value without a scheme is used as given.
     */
    static String target(String address) {
      int scheme = address.indexOf("://");
      if (scheme < 0) {
        return address;
      }
      java.net.URI uri = java.net.URI.create(address);
      if (uri.getHost() == null) {
        throw new IllegalStateException("CA_ADDRESS has no host: " + address);
      }
      int port = uri.getPort() >= 0 ? uri.getPort() : 443;
      return uri.getHost() + ":" + port;
    }

    public CaClient build() {
      if (address == null) {
        throw new IllegalStateException("CaClient needs an address (CA_ADDRESS)");
      }
      if (rootCertPem == null) {
        throw new IllegalStateException("CaClient needs the CA roots (CA_ROOT_CA)");
      }
      if (Pem.certificates(rootCertPem).isEmpty()) {
        throw new IllegalStateException("CA_ROOT_CA holds no PEM certificate");
      }
      String target = target(address);
      @Nullable String authority = authorityOverride;
      return new CaClient(this, new CaChannel(rootCertFile, rootCertPem, pem -> channel(target, authority, pem)));
    }

    /** The one place the CA channel is built: TLS trusting {@code rootPem}, to {@code target}. */
    static ManagedChannel channel(String target, @Nullable String authorityOverride, String rootPem) {
      ChannelCredentials credentials;
      try {
        credentials = TlsChannelCredentials.newBuilder()
            .trustManager(new ByteArrayInputStream(rootPem.getBytes(StandardCharsets.US_ASCII)))
            .build();
      } catch (IOException | IllegalArgumentException e) {
        throw new IllegalStateException("cannot use CA_ROOT_CA: " + e.getMessage(), e);
      }
      NettyChannelBuilder cb = ControlPlaneTransport.configure(NettyChannelBuilder.forTarget(target, credentials));
      if (authorityOverride != null) {
        cb.overrideAuthority(authorityOverride);
      }
      return cb.build();
    }
  }
}
