package dev.ambient.identity;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ambient.identity.PeerVerificationException.Reason;
import dev.ambient.testing.IssuedCertificate;
import dev.ambient.testing.LeafSpec;
import dev.ambient.testing.LeakDetectionExtension;
import dev.ambient.testing.LeakRecorder;
import dev.ambient.testing.TestCa;
import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.ssl.ApplicationProtocolConfig;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslProvider;
import io.netty.handler.ssl.util.InsecureTrustManagerFactory;
import io.netty.util.concurrent.Future;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Real handshakes over loopback between Netty clients and servers built by {@link HboneTls}. */
@ExtendWith(LeakDetectionExtension.class)
class HboneTlsHandshakeTest {
  private static final String TD = "cluster.local";
  private static final Set<String> AES_GCM_SUITES = Set.of("TLS_AES_256_GCM_SHA384", "TLS_AES_128_GCM_SHA256");

  private static EventLoopGroup group;
  private static TestCa ca;
  private final List<Channel> channels = new ArrayList<>();

  @BeforeAll
  static void start() {
    group = new MultiThreadIoEventLoopGroup(2, NioIoHandler.newFactory());
    ca = TestCa.create(TD);
  }

  @AfterAll
  static void stop() {
    group.shutdownGracefully(0, 5, TimeUnit.SECONDS).syncUninterruptibly();
  }

  @AfterEach
  void closeChannels() {
    for (Channel ch : channels) {
      ch.close().syncUninterruptibly();
    }
  }

  @Test
  void boringSsl_isAvailableAndUsed() {
    assertThat(OpenSsl.isAvailable()).as("netty-tcnative BoringSSL loads: %s", OpenSsl.unavailabilityCause()).isTrue();
    assertThat(OpenSsl.versionString()).containsIgnoringCase("BoringSSL");
    assertThat(TestIdentities.tls(ca, "default", "any").boringSsl()).isTrue();
    assertThat(LeakRecorder.isInstalled()).as("leak recorder installed by the launcher session listener").isTrue();
  }

  @Test
  void handshake_matchingIdentities_tls13AlpnH2AesGcmAndPeerIdentitiesOnBothSides() throws Exception {
    HboneTls server = TestIdentities.tls(ca, "backend", "server");
    HboneTls client = TestIdentities.tls(ca, "frontend", "client");

    Handshake h = handshake(server, client, List.of(server.certificate().identity()));

    h.assertSucceeded();
    for (SslHandler side : List.of(h.clientHandler(), h.serverHandler())) {
      assertThat(side.engine().getSession().getProtocol()).isEqualTo("TLSv1.3");
      assertThat(side.applicationProtocol()).isEqualTo("h2");
      assertThat(side.engine().getSession().getCipherSuite()).isIn(AES_GCM_SUITES);
    }
    assertThat(HboneTls.peerIdentity(h.clientHandler().engine().getSession()))
        .contains(SpiffeId.of(TD, "backend", "server"));
    assertThat(HboneTls.peerIdentity(h.serverHandler().engine().getSession()))
        .contains(SpiffeId.of(TD, "frontend", "client"));
    assertThat(client.pendingClientHandshakes()).as("expectations are dropped after the handshake").isZero();
  }

  @Test
  void handshake_chainThroughIntermediates_succeeds() throws Exception {
    TestCa intermediate = ca.newIntermediate().newIntermediate();
    HboneTls server = TestIdentities.tls(intermediate, "backend", "server");
    HboneTls client = TestIdentities.tls(ca.newIntermediate(), "frontend", "client");

    Handshake h = handshake(server, client, List.of(TestIdentities.id(ca, "backend", "server")));

    h.assertSucceeded();
    assertThat(h.serverHandler().engine().getSession().getPeerCertificates()).hasSize(2);
  }

  @Test
  void handshake_oneOfSeveralExpectedIdentities_succeeds() throws Exception {
    HboneTls server = TestIdentities.tls(ca, "backend", "server");
    HboneTls client = TestIdentities.tls(ca, "frontend", "client");

    Handshake h = handshake(server, client,
        List.of(TestIdentities.id(ca, "other", "svc"), TestIdentities.id(ca, "backend", "server")));

    h.assertSucceeded();
  }

  @Test
  void handshake_postQuantumOffered_succeedsWithHybridGroupFirst() throws Exception {
    TlsOptions pq = new TlsOptions(false, true, false);
    HboneTls server = HboneTls.create(TestIdentities.workload(ca, "backend", "server"), pq);
    HboneTls client = HboneTls.create(TestIdentities.workload(ca, "frontend", "client"), pq);

    Handshake h = handshake(server, client, List.of(server.certificate().identity()));

    h.assertSucceeded();
    // tcnative 2.0.84's BoringSSL has the hybrid group; an older one would log and drop it.
    assertThat(client.groups()).containsExactly("X25519MLKEM768", "X25519", "P-256");
    assertThat(server.groups()).containsExactly("X25519MLKEM768", "X25519", "P-256");
  }

  @Test
  void handshake_jdkClientAgainstBoringSslServer_succeeds() throws Exception {
    HboneTls server = TestIdentities.tls(ca, "backend", "server");
    HboneTls client = HboneTls.create(TestIdentities.workload(ca, "frontend", "client"), TlsOptions.DEFAULT,
        SslProvider.JDK);

    Handshake h = handshake(server, client, List.of(server.certificate().identity()));

    h.assertSucceeded();
    assertThat(client.boringSsl()).isFalse();
    assertThat(h.clientHandler().applicationProtocol()).isEqualTo("h2");
    assertThat(HboneTls.peerIdentity(h.clientHandler().engine().getSession()))
        .contains(server.certificate().identity());
    assertThat(client.pendingClientHandshakes()).isZero();
  }

  @Test
  void handshake_jdkClientServerSanNotExpected_refusedByClient() throws Exception {
    HboneTls server = TestIdentities.tls(ca, "backend", "server");
    HboneTls client = HboneTls.create(TestIdentities.workload(ca, "frontend", "client"), TlsOptions.DEFAULT,
        SslProvider.JDK);

    Handshake h = handshake(server, client, List.of(TestIdentities.id(ca, "backend", "someone-else")));

    h.assertClientRefused(Reason.SAN_MISMATCH, "someone-else");
    assertThat(client.pendingClientHandshakes()).isZero();
  }

  @Test
  void handshake_serverSanNotInExpectedSet_refusedByClient() throws Exception {
    HboneTls server = TestIdentities.tls(ca, "backend", "server");
    HboneTls client = TestIdentities.tls(ca, "frontend", "client");

    Handshake h = handshake(server, client, List.of(TestIdentities.id(ca, "backend", "expected")));

    h.assertClientRefused(Reason.SAN_MISMATCH,
        "presented [spiffe://cluster.local/ns/backend/sa/server]",
        "expected one of [spiffe://cluster.local/ns/backend/sa/expected]");
    assertThat(h.server().isSuccess()).as("the server sees the alert").isFalse();
    assertThat(client.pendingClientHandshakes()).isZero();
  }

  @Test
  void handshake_clientFromAnotherTrustDomain_refusedByServer() throws Exception {
    TestCa otherDomain = TestCa.create("other.domain");
    // The server trusts both roots, so only the trust-domain rule can refuse the client.
    IssuedCertificate serverCert = ca.issue("spiffe://cluster.local/ns/backend/sa/server");
    HboneTls server = HboneTls.create(WorkloadCertificate.of(serverCert.privateKey(), serverCert.leaf(), List.of(),
        TrustBundle.of(ca.root(), otherDomain.root())), TlsOptions.DEFAULT);
    IssuedCertificate clientCert = otherDomain.issue("spiffe://other.domain/ns/frontend/sa/client");
    HboneTls client = HboneTls.create(WorkloadCertificate.of(clientCert.privateKey(), clientCert.leaf(), List.of(),
        TrustBundle.of(ca.root())), TlsOptions.DEFAULT);

    Handshake h = handshake(server, client, List.of(server.certificate().identity()));

    h.assertServerRefused(Reason.WRONG_TRUST_DOMAIN, "other.domain", "'cluster.local'");
  }

  @Test
  void handshake_expiredClientCertificate_refusedByServer() throws Exception {
    Instant notAfter = Instant.now().minus(Duration.ofDays(1)).truncatedTo(java.time.temporal.ChronoUnit.SECONDS);
    HboneTls server = TestIdentities.tls(ca, "backend", "server");
    HboneTls client = HboneTls.create(TestIdentities.of(ca.issue(LeafSpec.uris("spiffe://cluster.local/ns/a/sa/old")
        .notBefore(notAfter.minus(Duration.ofDays(1))).notAfter(notAfter))), TlsOptions.DEFAULT);

    Handshake h = handshake(server, client, List.of(server.certificate().identity()));

    h.assertServerRefused(Reason.EXPIRED, "expired at " + notAfter);
  }

  @Test
  void handshake_notYetValidServerCertificate_refusedByClient() throws Exception {
    Instant notBefore = Instant.now().plus(Duration.ofDays(1)).truncatedTo(java.time.temporal.ChronoUnit.SECONDS);
    HboneTls server = HboneTls.create(TestIdentities.of(ca.issue(LeafSpec.uris("spiffe://cluster.local/ns/b/sa/new")
        .notBefore(notBefore).notAfter(notBefore.plus(Duration.ofDays(1))))), TlsOptions.DEFAULT);
    HboneTls client = TestIdentities.tls(ca, "frontend", "client");

    Handshake h = handshake(server, client, List.of(server.certificate().identity()));

    h.assertClientRefused(Reason.NOT_YET_VALID, "not valid before " + notBefore);
  }

  @Test
  void handshake_notYetValidClientCertificate_refusedByServer() throws Exception {
    Instant notBefore = Instant.now().plus(Duration.ofHours(1)).truncatedTo(java.time.temporal.ChronoUnit.SECONDS);
    HboneTls server = TestIdentities.tls(ca, "backend", "server");
    HboneTls client = HboneTls.create(TestIdentities.of(ca.issue(LeafSpec.uris("spiffe://cluster.local/ns/a/sa/new")
        .notBefore(notBefore).notAfter(notBefore.plus(Duration.ofDays(1))))), TlsOptions.DEFAULT);

    Handshake h = handshake(server, client, List.of(server.certificate().identity()));

    h.assertServerRefused(Reason.NOT_YET_VALID, "not valid before " + notBefore);
  }

  @Test
  void handshake_clientWithoutCertificate_refusedByServer() throws Exception {
    HboneTls server = TestIdentities.tls(ca, "backend", "server");

    Handshake h = handshake(server, alloc -> rawClient(null).newHandler(alloc));

    assertThat(h.server().isSuccess()).isFalse();
    assertThat(messages(h.server().cause())).as("server-side failure names the missing certificate")
        .contains("PEER_DID_NOT_RETURN_A_CERTIFICATE");
    h.assertClientClosed();
  }

  @Test
  void handshake_clientCertificateWithoutSpiffeSan_refusedByServer() throws Exception {
    HboneTls server = TestIdentities.tls(ca, "backend", "server");
    IssuedCertificate noSpiffe = ca.issue(LeafSpec.uris("https://example.com/app").dnsNames("app.example.com"));

    Handshake h = handshake(server, alloc -> rawClient(noSpiffe).newHandler(alloc));

    h.assertServerRefused(Reason.NO_SPIFFE_SAN, "https://example.com/app");
  }

  @Test
  void handshake_clientCertificateWithoutClientAuthEku_refusedByServer() throws Exception {
    HboneTls server = TestIdentities.tls(ca, "backend", "server");
    HboneTls client = HboneTls.create(TestIdentities.of(ca.issue(LeafSpec.uris("spiffe://cluster.local/ns/a/sa/b")
        .extendedKeyUsages(LeafSpec.ExtendedKeyUsage.SERVER_AUTH))), TlsOptions.DEFAULT);

    Handshake h = handshake(server, client, List.of(server.certificate().identity()));

    h.assertServerRefused(Reason.MISSING_EKU, "clientAuth");
  }

  @Test
  void handshake_clientCertificateSignedByUnrelatedCa_refusedByServer() throws Exception {
    TestCa unrelated = TestCa.create(TD);
    HboneTls server = TestIdentities.tls(ca, "backend", "server");
    IssuedCertificate clientCert = unrelated.issue("spiffe://cluster.local/ns/frontend/sa/client");
    HboneTls client = HboneTls.create(WorkloadCertificate.of(clientCert.privateKey(), clientCert.leaf(), List.of(),
        TrustBundle.of(ca.root())), TlsOptions.DEFAULT);

    Handshake h = handshake(server, client, List.of(server.certificate().identity()));

    h.assertServerRefused(Reason.UNTRUSTED_CHAIN, "does not chain to the trust bundle", "Test Root cluster.local");
  }

  @Test
  void handshake_serverCertificateSignedByUnrelatedCa_refusedByClient() throws Exception {
    TestCa unrelated = TestCa.create(TD);
    IssuedCertificate serverCert = unrelated.issue("spiffe://cluster.local/ns/backend/sa/server");
    HboneTls server = HboneTls.create(WorkloadCertificate.of(serverCert.privateKey(), serverCert.leaf(), List.of(),
        TrustBundle.of(ca.root())), TlsOptions.DEFAULT);
    HboneTls client = TestIdentities.tls(ca, "frontend", "client");

    Handshake h = handshake(server, client, List.of(server.certificate().identity()));

    h.assertClientRefused(Reason.UNTRUSTED_CHAIN, "does not chain to the trust bundle");
    assertThat(client.pendingClientHandshakes()).isZero();
  }

  // ---- harness ----

  private record Handshake(
      Future<Channel> client, Future<Channel> server, SslHandler clientHandler, SslHandler serverHandler,
      Channel clientChannel) {
    void assertSucceeded() {
      assertThat(client.cause()).as("client handshake").isNull();
      assertThat(server.cause()).as("server handshake").isNull();
      assertThat(client.isSuccess()).isTrue();
      assertThat(server.isSuccess()).isTrue();
    }

    void assertClientRefused(Reason reason, String... messageParts) {
      assertRefused("client", client, reason, messageParts);
    }

    /**
     * The server refused; with TLS 1.3 the client's handshake completes before the server has checked
     * the client certificate, so the client learns of it from the alert, which closes its channel.
     */
    void assertServerRefused(Reason reason, String... messageParts) {
      assertRefused("server", server, reason, messageParts);
      assertClientClosed();
    }

    void assertClientClosed() {
      assertThat(clientChannel.closeFuture().awaitUninterruptibly(5, TimeUnit.SECONDS))
          .as("client channel closed after the server's alert").isTrue();
    }

    private static void assertRefused(String side, Future<Channel> f, Reason reason, String... messageParts) {
      assertThat(f.isSuccess()).as("%s handshake must fail", side).isFalse();
      PeerVerificationException e = find(f.cause(), PeerVerificationException.class);
      assertThat(e).as("%s failure cause chain holds the refusal: %s", side, f.cause()).isNotNull();
      assertThat(e.reason()).isEqualTo(reason);
      assertThat(e.getMessage()).contains(messageParts);
    }
  }

  private Handshake handshake(HboneTls server, HboneTls client, Collection<SpiffeId> expected) throws Exception {
    return handshake(server, alloc -> client.newClientHandler(alloc, expected));
  }

  private Handshake handshake(HboneTls server, Function<io.netty.buffer.ByteBufAllocator, SslHandler> client)
      throws Exception {
    CompletableFuture<SslHandler> serverHandler = new CompletableFuture<>();
    Channel listener = new ServerBootstrap()
        .group(group)
        .channel(NioServerSocketChannel.class)
        .childHandler(new ChannelInitializer<SocketChannel>() {
          @Override
          protected void initChannel(SocketChannel ch) {
            channels.add(ch);
            SslHandler h = server.newServerHandler(ch.alloc());
            ch.pipeline().addLast(h);
            serverHandler.complete(h);
          }
        })
        .bind(new InetSocketAddress("127.0.0.1", 0)).sync().channel();
    channels.add(listener);
    CompletableFuture<SslHandler> clientHandler = new CompletableFuture<>();
    Channel ch = new Bootstrap()
        .group(group)
        .channel(NioSocketChannel.class)
        .handler(new ChannelInitializer<SocketChannel>() {
          @Override
          protected void initChannel(SocketChannel ch) {
            SslHandler h = client.apply(ch.alloc());
            ch.pipeline().addLast(h);
            clientHandler.complete(h);
          }
        })
        .connect(listener.localAddress()).sync().channel();
    channels.add(ch);
    SslHandler c = clientHandler.get(5, TimeUnit.SECONDS);
    SslHandler s = serverHandler.get(5, TimeUnit.SECONDS);
    assertThat(c.handshakeFuture().await(5, TimeUnit.SECONDS)).as("client handshake completes").isTrue();
    assertThat(s.handshakeFuture().await(5, TimeUnit.SECONDS)).as("server handshake completes").isTrue();
    return new Handshake(c.handshakeFuture(), s.handshakeFuture(), c, s, ch);
  }

  /** A client outside HboneTls: trusts anything, presents {@code cert} (or nothing). */
  private static SslContext rawClient(@Nullable IssuedCertificate cert) {
    try {
      SslContextBuilder b = SslContextBuilder.forClient()
          .sslProvider(SslProvider.OPENSSL)
          .protocols("TLSv1.3")
          .trustManager(InsecureTrustManagerFactory.INSTANCE)
          .applicationProtocolConfig(new ApplicationProtocolConfig(
              ApplicationProtocolConfig.Protocol.ALPN,
              ApplicationProtocolConfig.SelectorFailureBehavior.NO_ADVERTISE,
              ApplicationProtocolConfig.SelectedListenerFailureBehavior.ACCEPT,
              "h2"));
      if (cert != null) {
        b.keyManager(cert.privateKey(), cert.chain());
      }
      return b.build();
    } catch (javax.net.ssl.SSLException e) {
      throw new IllegalStateException(e);
    }
  }

  private static <T extends Throwable> @Nullable T find(@Nullable Throwable t, Class<T> type) {
    for (Throwable c = t; c != null; c = c.getCause()) {
      if (type.isInstance(c)) {
        return type.cast(c);
      }
      for (Throwable s : c.getSuppressed()) {
        T found = find(s, type);
        if (found != null) {
          return found;
        }
      }
    }
    return null;
  }

  private static String messages(@Nullable Throwable t) {
    StringBuilder sb = new StringBuilder();
    for (Throwable c = t; c != null; c = c.getCause()) {
      sb.append(c).append(" | ");
    }
    return sb.toString();
  }
}
