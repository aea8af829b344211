package dev.ambient.xds.ca;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import dev.ambient.identity.Pem;
import dev.ambient.identity.SpiffeId;
import dev.ambient.identity.WorkloadCertificate;
import dev.ambient.testing.TestCa;
import dev.ambient.xds.api.Rpc;
import dev.ambient.xds.api.ca.IstioCertificateRequest;
import dev.ambient.xds.api.ca.IstioCertificateResponse;
import io.grpc.CallOptions;
import io.grpc.ClientInterceptors;
import io.grpc.Grpc;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.TlsChannelCredentials;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.MetadataUtils;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertPathValidator;
import java.security.cert.CertificateFactory;
import java.security.cert.PKIXParameters;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** CreateCertificate over real gRPC + TLS on loopback, with {@link CaClient} and raw calls. */
class CaServiceTest {
  private static final String TD = "cluster.local";
  private static final SpiffeId CLIENT = SpiffeId.of(TD, "default", "client");
  private static final SpiffeId OTHER = SpiffeId.of(TD, "default", "other");
  private static final SpiffeId ZTUNNEL = SpiffeId.of(TD, "istio-system", "ztunnel");
  private static final String EKU_SERVER_AUTH = "1.3.6.1.5.5.7.3.1";
  private static final String EKU_CLIENT_AUTH = "1.3.6.1.5.5.7.3.2";

  private static final StaticTokenAuthenticator TOKENS = StaticTokenAuthenticator.of(Map.of(
      "client-token", new CallerAuthenticator.Caller(CLIENT, false),
      "ztunnel-token", new CallerAuthenticator.Caller(ZTUNNEL, true)));

  @TempDir Path dir;
  private CaServer server;
  private ManagedChannel rawChannel;

  @AfterEach
  void tearDown() throws Exception {
    if (rawChannel != null) {
      rawChannel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
    if (server != null) {
      server.close();
    }
  }

  private CaServer start(CaService service) throws Exception {
    server = CaServer.start(serviceCa(), service);
    return server;
  }

  private CertificateAuthority ca;

  private CertificateAuthority serviceCa() {
    if (ca == null) {
      ca = CertificateAuthority.loadOrCreate(dir.resolve("ca"), TD, Clock.systemUTC());
    }
    return ca;
  }

  private static WorkloadCertificate fetch(CaClient client, SpiffeId id) {
    return client.fetch(id).orTimeout(20, TimeUnit.SECONDS).join();
  }

  @Test
  void createCertificate_ownIdentity_leafHasSanEkusAndChainsToRoot() throws Exception {
    start(CaService.of(serviceCa(), TOKENS));
    try (CaClient client = server.client().tokenSource(new TokenSource.Literal("client-token"))
        .ttl(Duration.ofHours(1)).build()) {
      WorkloadCertificate cert = fetch(client, CLIENT);

      X509Certificate leaf = cert.leaf();
      assertThat(cert.identity()).isEqualTo(CLIENT);
      assertThat(WorkloadCertificate.uriSans(leaf)).containsExactly(CLIENT.toString());
      assertThat(leaf.getCriticalExtensionOIDs()).contains("2.5.29.17");
      assertThat(leaf.getExtendedKeyUsage()).containsExactlyInAnyOrder(EKU_SERVER_AUTH, EKU_CLIENT_AUTH);
      assertThat(leaf.getKeyUsage()[0]).as("digitalSignature").isTrue();
      assertThat(leaf.getBasicConstraints()).as("not a CA").isEqualTo(-1);
      assertThat(leaf.getSubjectX500Principal().getName()).isEmpty();
      assertThat(Duration.between(cert.notBefore(), cert.notAfter()))
          .isEqualTo(Duration.ofHours(1).plus(CertificateAuthority.CLOCK_SKEW_ALLOWANCE));
      assertThat(cert.notBefore()).isBefore(java.time.Instant.now());
      assertThat(cert.intermediates()).isEmpty();
      assertThat(cert.trustBundle().roots()).containsExactly(serviceCa().root());
      assertThat(leaf.getPublicKey()).isNotNull();
      validate(cert.chain(), cert.trustBundle().roots().getFirst());
    }
  }

  @Test
  void createCertificate_pluginCaWithIntermediate_chainIsLeafIntermediateRoot() throws Exception {
    TestCa root = TestCa.create(TD);
    TestCa intermediate = root.newIntermediate();
    Path plugin = Files.createDirectories(dir.resolve("cacerts"));
    Files.writeString(plugin.resolve("ca-cert.pem"), Pem.encode(intermediate.certificate()));
    Files.writeString(plugin.resolve("ca-key.pem"), Pem.encode(intermediate.privateKey()));
    Files.writeString(plugin.resolve("root-cert.pem"), Pem.encode(root.root()));
    Files.writeString(plugin.resolve("cert-chain.pem"), Pem.encode(List.of(intermediate.certificate(), root.root())));
    ca = CertificateAuthority.fromPluginFiles(plugin);
    start(CaService.of(ca, TOKENS));

    Csr csr = Csr.generate(CLIENT);
    IstioCertificateResponse response = call("client-token", request(csr.pem(), 3600, null));

    List<String> chain = response.getCertChainList();
    assertThat(chain).hasSize(3).allSatisfy(e -> assertThat(e).endsWith("\n"));
    X509Certificate leaf = Pem.certificates(chain.get(0)).getFirst();
    assertThat(leaf.getIssuerX500Principal()).isEqualTo(intermediate.certificate().getSubjectX500Principal());
    assertThat(Pem.certificates(chain.get(1))).containsExactly(intermediate.certificate());
    assertThat(Pem.certificates(chain.get(2))).containsExactly(root.root());
    validate(List.of(leaf, intermediate.certificate()), root.root());

    try (CaClient client = server.client().tokenSource(new TokenSource.Literal("client-token")).build()) {
      WorkloadCertificate cert = fetch(client, CLIENT);
      assertThat(cert.intermediates()).containsExactly(intermediate.certificate());
      assertThat(cert.trustBundle().roots()).containsExactly(root.root());
    }
  }

  @Test
  void createCertificate_sanNotCallersIdentity_permissionDenied() throws Exception {
    start(CaService.of(serviceCa(), TOKENS));
    assertThatThrownBy(() -> call("client-token", request(Csr.generate(OTHER).pem(), 0, null)))
        .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
          assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
          assertThat(e.getStatus().getDescription()).contains(OTHER.toString()).contains(CLIENT.toString());
        });
  }

  @Test
  void unauthenticatedService_callerWithoutImpersonation_getsTheIdentityItsCsrNames() throws Exception {
    // The standalone control plane without --tokens: a dedicated-mode ztunnel asks for its own identity.
    start(CaService.unauthenticated(serviceCa(), headers -> new CallerAuthenticator.Caller(ZTUNNEL, true)));
    try (CaClient client = server.client().build()) {
      assertThat(fetch(client, OTHER).identity()).isEqualTo(OTHER);
    }
    // With authentication the same request is bound to the caller's identity.
    server.close();
    start(CaService.of(serviceCa(), headers -> new CallerAuthenticator.Caller(ZTUNNEL, true)));
    assertThatThrownBy(() -> call("any", request(Csr.generate(OTHER).pem(), 0, null)))
        .isInstanceOfSatisfying(StatusRuntimeException.class,
            e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED));
  }

  @Test
  void createCertificate_nodeProxyImpersonates_issuedForImpersonatedIdentity() throws Exception {
    start(CaService.of(serviceCa(), TOKENS));
    try (CaClient client = server.client().tokenSource(new TokenSource.Literal("ztunnel-token"))
        .sharedMode(true).build()) {
      WorkloadCertificate cert = fetch(client, OTHER);
      assertThat(cert.identity()).isEqualTo(OTHER);
    }
  }

  @Test
  void createCertificate_impersonationByNonNodeProxy_unauthenticated() throws Exception {
    start(CaService.of(serviceCa(), TOKENS));
    try (CaClient client = server.client().tokenSource(new TokenSource.Literal("client-token"))
        .sharedMode(true).build()) {
      assertThatThrownBy(() -> fetch(client, OTHER))
          .isInstanceOf(CompletionException.class)
          .cause().isInstanceOfSatisfying(CaException.class, e -> {
            assertThat(e.reason()).isEqualTo(CaException.Reason.CA_CALL_FAILED);
            assertThat(e.getMessage()).contains("UNAUTHENTICATED").contains("not a trusted node proxy");
          });
    }
  }

  @Test
  void createCertificate_impersonationRefusedByPolicy_unauthenticated() throws Exception {
    start(CaService.of(serviceCa(), TOKENS, (caller, requested, headers) -> !requested.equals(OTHER)));
    Csr csr = Csr.generate(OTHER);
    assertThatThrownBy(() -> call("ztunnel-token", request(csr.pem(), 0, OTHER.toString())))
        .isInstanceOfSatisfying(StatusRuntimeException.class,
            e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAUTHENTICATED));
    // The same proxy may still impersonate identities the policy allows.
    SpiffeId allowed = SpiffeId.of(TD, "ns2", "sa2");
    assertThat(call("ztunnel-token", request(Csr.generate(allowed).pem(), 0, allowed.toString())).getCertChainCount())
        .isEqualTo(2);
  }

  @Test
  void createCertificate_impersonatedSanDiffersFromCsr_permissionDenied() throws Exception {
    start(CaService.of(serviceCa(), TOKENS));
    assertThatThrownBy(() -> call("ztunnel-token", request(Csr.generate(CLIENT).pem(), 0, OTHER.toString())))
        .isInstanceOfSatisfying(StatusRuntimeException.class,
            e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED));
  }

  @Test
  void createCertificate_noToken_unauthenticated() throws Exception {
    start(CaService.of(serviceCa(), TOKENS));
    assertThatThrownBy(() -> call(null, request(Csr.generate(CLIENT).pem(), 0, null)))
        .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
          assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAUTHENTICATED);
          assertThat(e.getStatus().getDescription()).contains("no 'authorization: Bearer");
        });
  }

  @Test
  void createCertificate_unknownToken_unauthenticated() throws Exception {
    start(CaService.of(serviceCa(), TOKENS));
    assertThatThrownBy(() -> call("nope", request(Csr.generate(CLIENT).pem(), 0, null)))
        .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
          assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAUTHENTICATED);
          assertThat(e.getStatus().getDescription()).contains("not known");
        });
  }

  @Test
  void createCertificate_malformedCsr_invalidArgument() throws Exception {
    start(CaService.of(serviceCa(), TOKENS));
    assertThatThrownBy(() -> call("client-token", request("not a csr", 0, null)))
        .isInstanceOfSatisfying(StatusRuntimeException.class,
            e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT));
    String garbled = "-----BEGIN CERTIFICATE REQUEST-----\nAAAAAAAA\n-----END CERTIFICATE REQUEST-----\n";
    assertThatThrownBy(() -> call("client-token", request(garbled, 0, null)))
        .isInstanceOfSatisfying(StatusRuntimeException.class,
            e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT));
  }

  @Test
  void createCertificate_ttlAboveMaximum_invalidArgument() throws Exception {
    start(CaService.of(serviceCa(), TOKENS));
    long tooLong = CertificateAuthority.MAX_WORKLOAD_CERT_TTL.plusSeconds(1).toSeconds();
    assertThatThrownBy(() -> call("client-token", request(Csr.generate(CLIENT).pem(), tooLong, null)))
        .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
          assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
          assertThat(e.getStatus().getDescription()).contains("MAX_WORKLOAD_CERT_TTL");
        });
  }

  @Test
  void createCertificate_clientHeaders_reachAuthenticator() throws Exception {
    AtomicReference<Metadata> seen = new AtomicReference<>();
    start(CaService.of(serviceCa(), headers -> {
      seen.set(headers);
      return TOKENS.authenticate(headers);
    }));
    try (CaClient client = server.client().tokenSource(new TokenSource.Literal("client-token"))
        .clusterId("Kubernetes").extraHeader("X-Extra", "yes").build()) {
      fetch(client, CLIENT);
    }
    assertThat(seen.get().get(CallerAuthenticator.AUTHORIZATION)).isEqualTo("Bearer client-token");
    assertThat(seen.get().get(CallerAuthenticator.CLUSTER_ID)).isEqualTo("Kubernetes");
    assertThat(seen.get().get(Metadata.Key.of("x-extra", Metadata.ASCII_STRING_MARSHALLER))).isEqualTo("yes");
  }

  @Test
  void fetch_tokenFile_reReadOnEveryRequest() throws Exception {
    start(CaService.of(serviceCa(), TOKENS));
    Path token = dir.resolve("istio-token");
    Files.writeString(token, "client-token\n");
    try (CaClient client = server.client().tokenSource(new TokenSource.File(token)).build()) {
      assertThat(fetch(client, CLIENT).identity()).isEqualTo(CLIENT);
      Files.writeString(token, "revoked-token\n");
      assertThatThrownBy(() -> fetch(client, CLIENT))
          .cause().isInstanceOfSatisfying(CaException.class,
              e -> assertThat(e.getMessage()).contains("UNAUTHENTICATED"));
      Files.writeString(token, "");
      assertThatThrownBy(() -> fetch(client, CLIENT))
          .cause().isInstanceOfSatisfying(CaException.class,
              e -> assertThat(e.reason()).isEqualTo(CaException.Reason.TOKEN));
    }
  }

  @Test
  void fetch_untrustedServer_failsTls() throws Exception {
    start(CaService.of(serviceCa(), TOKENS));
    TestCa stranger = TestCa.create(TD);
    try (CaClient client = CaClient.builder().address(server.address()).rootCertPem(Pem.encode(stranger.root()))
        .tokenSource(new TokenSource.Literal("client-token")).build()) {
      assertThatThrownBy(() -> fetch(client, CLIENT))
          .cause().isInstanceOfSatisfying(CaException.class,
              e -> assertThat(e.getMessage()).contains("UNAVAILABLE"));
    }
  }

  @Test
  void secretManager_overRealCaClient_sharesOneCsrAcrossThreads() throws Exception {
    AtomicReference<Integer> calls = new AtomicReference<>(0);
    start(CaService.of(serviceCa(), headers -> {
      calls.updateAndGet(n -> n + 1);
      return TOKENS.authenticate(headers);
    }));
    var executor = java.util.concurrent.Executors.newSingleThreadScheduledExecutor();
    try (CaClient client = server.client().tokenSource(new TokenSource.Literal("ztunnel-token"))
        .sharedMode(true).build()) {
      SecretManager manager = SecretManager.builder().fetcher(client).executor(executor).build();
      List<java.util.concurrent.CompletableFuture<WorkloadCertificate>> futures = new java.util.ArrayList<>();
      List<Thread> threads = new java.util.ArrayList<>();
      for (int i = 0; i < 4; i++) {
        Thread t = Thread.ofPlatform().start(() -> {
          synchronized (futures) {
            futures.add(manager.fetchCertificate(OTHER));
          }
        });
        threads.add(t);
      }
      for (Thread t : threads) {
        t.join();
      }
      List<WorkloadCertificate> certs = futures.stream().map(f -> f.orTimeout(20, TimeUnit.SECONDS).join()).toList();
      assertThat(certs).hasSize(4).allSatisfy(c -> assertThat(c).isSameAs(certs.getFirst()));
      assertThat(certs.getFirst().identity()).isEqualTo(OTHER);
      assertThat(calls.get()).isEqualTo(1);
      manager.close();
    } finally {
      executor.shutdownNow();
    }
  }

  private static IstioCertificateRequest request(String csr, long ttlSeconds, String impersonate) {
    IstioCertificateRequest.Builder b = IstioCertificateRequest.newBuilder().setCsr(csr).setValidityDuration(ttlSeconds);
    if (impersonate != null) {
      b.setMetadata(Struct.newBuilder().putFields(CaService.IMPERSONATED_IDENTITY,
          Value.newBuilder().setStringValue(impersonate).build()));
    }
    return b.build();
  }

  private IstioCertificateResponse call(String token, IstioCertificateRequest request) throws Exception {
    if (rawChannel == null) {
      rawChannel = Grpc.newChannelBuilder(server.address(), TlsChannelCredentials.newBuilder()
          .trustManager(new ByteArrayInputStream(server.ca.trustBundle().toPem().getBytes(StandardCharsets.US_ASCII)))
          .build()).build();
    }
    Metadata md = new Metadata();
    if (token != null) {
      md.put(CallerAuthenticator.AUTHORIZATION, "Bearer " + token);
    }
    return ClientCalls.blockingUnaryCall(
        ClientInterceptors.intercept(rawChannel, MetadataUtils.newAttachHeadersInterceptor(md)),
        Rpc.CREATE_CERTIFICATE, CallOptions.DEFAULT.withDeadlineAfter(20, TimeUnit.SECONDS), request);
  }

  static void validate(List<X509Certificate> chain, X509Certificate root) throws Exception {
    PKIXParameters params = new PKIXParameters(java.util.Set.of(new java.security.cert.TrustAnchor(root, null)));
    params.setRevocationEnabled(false);
    CertPathValidator.getInstance("PKIX").validate(CertificateFactory.getInstance("X.509").generateCertPath(chain), params);
  }
}
