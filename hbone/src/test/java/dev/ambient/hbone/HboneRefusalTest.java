package dev.ambient.hbone;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.ambient.identity.HboneTls;
import dev.ambient.identity.PeerVerificationException;
import dev.ambient.identity.SpiffeId;
import dev.ambient.identity.TestIdentities;
import dev.ambient.identity.TlsOptions;
import dev.ambient.identity.TrustBundle;
import dev.ambient.identity.WorkloadCertificate;
import dev.ambient.net.Transport;
import dev.ambient.testing.IssuedCertificate;
import dev.ambient.testing.LeafSpec;
import dev.ambient.testing.LeakDetectionExtension;
import dev.ambient.testing.TestCa;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.DefaultHttp2HeadersFrame;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.codec.http2.Http2StreamChannelBootstrap;
import io.netty.handler.ssl.ApplicationProtocolConfig;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.slf4j.LoggerFactory;

/** Every refusal of issue §2/§3 at the HBONE level: the tunnel is not opened and the reason is logged. */
@ExtendWith(LeakDetectionExtension.class)
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class HboneRefusalTest {
  private static final Transport TRANSPORT = Transport.defaultTransport();
  private static final String TD = "cluster.local";
  private static EventLoopGroup group;
  private static TestCa ca;
  private static HboneTls serverTls;
  private static HboneTls clientTls;
  private static SpiffeId serverId;

  private final AtomicInteger handlerCalls = new AtomicInteger();
  private final ListAppender<ILoggingEvent> serverLog = new ListAppender<>();
  private HboneServer server;
  private HboneClient client;

  @BeforeAll
  static void startShared() {
    group = TRANSPORT.newEventLoopGroup(2, "refusal-test");
    ca = TestCa.create(TD);
    serverTls = TestIdentities.tls(ca, "default", "server");
    clientTls = TestIdentities.tls(ca, "default", "client");
    serverId = serverTls.certificate().identity();
  }

  @AfterAll
  static void stopShared() {
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
  }

  @BeforeEach
  void start() {
    serverLog.start();
    ((Logger) LoggerFactory.getLogger(HboneServer.class)).addAppender(serverLog);
    server = startServer(serverTls);
    client = HboneClient.builder().transport(TRANSPORT).eventLoopGroup(group).build();
  }

  private HboneServer startServer(HboneTls tls) {
    return HboneServer.builder().transport(TRANSPORT).eventLoopGroup(group).tls(tls)
        .handler(r -> {
          handlerCalls.incrementAndGet();
          return CompletableFuture.completedFuture(HboneDecision.reject(401, "not under test"));
        })
        .start();
  }

  @AfterEach
  void stop() {
    ((Logger) LoggerFactory.getLogger(HboneServer.class)).detachAppender(serverLog);
    client.close();
    server.close();
  }

  private HboneException open(HboneTls tls, SpiffeId expected, HboneServer target) throws Exception {
    return HboneLoopbackTest.failure(client.open(
        HboneConnectRequest.of(tls, expected, target.localAddress(), Authority.parse("198.18.0.9:80").orElseThrow())));
  }

  private static HboneTls tlsFor(IssuedCertificate issued, TrustBundle trust) {
    return HboneTls.create(WorkloadCertificate.of(issued.privateKey(), issued.leaf(), issued.intermediates(), trust),
        TlsOptions.DEFAULT);
  }

  private static PeerVerificationException.Reason verificationReason(Throwable t) {
    for (Throwable c = t; c != null; c = c.getCause()) {
      if (c instanceof PeerVerificationException p) {
        return p.reason();
      }
    }
    throw new AssertionError("no PeerVerificationException in the cause chain of " + t, t);
  }

  private void assertServerLogged(String reasonFragment) {
    Awaitility.await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertThat(serverLog.list)
        .extracting(ILoggingEvent::getFormattedMessage)
        .anySatisfy(m -> assertThat(m).contains("refused").containsIgnoringCase(reasonFragment)));
    assertThat(handlerCalls).hasValue(0);
  }

  @Test
  void serverIdentityNotExpected_clientRefusesTheHandshake() throws Exception {
    SpiffeId someoneElse = SpiffeId.of(TD, "default", "someone-else");
    HboneException e = open(clientTls, someoneElse, server);

    assertThat(e.reason()).isEqualTo(HboneException.Reason.TLS_FAILURE);
    assertThat(verificationReason(e)).isEqualTo(PeerVerificationException.Reason.SAN_MISMATCH);
    assertThat(e.getMessage()).contains("someone-else");
    assertThat(handlerCalls).hasValue(0);
  }

  @Test
  void clientFromAnotherTrustDomain_serverRefuses() throws Exception {
    HboneTls foreign = tlsFor(ca.issue("spiffe://evil.example/ns/default/sa/client"), TrustBundle.of(ca.root()));
    HboneException e = open(foreign, serverId, server);

    assertThat(e.reason()).isEqualTo(HboneException.Reason.TLS_FAILURE);
    assertServerLogged("trust domain");
  }

  @Test
  void expiredClientCertificate_serverRefuses() throws Exception {
    Instant now = Instant.now();
    HboneTls expired = tlsFor(ca.issue(LeafSpec.uris("spiffe://cluster.local/ns/default/sa/client")
        .notBefore(now.minus(Duration.ofDays(2))).notAfter(now.minus(Duration.ofDays(1)))), TrustBundle.of(ca.root()));

    assertThat(open(expired, serverId, server).reason()).isEqualTo(HboneException.Reason.TLS_FAILURE);
    assertServerLogged("expired");
  }

  @Test
  void notYetValidClientCertificate_serverRefuses() throws Exception {
    Instant now = Instant.now();
    HboneTls early = tlsFor(ca.issue(LeafSpec.uris("spiffe://cluster.local/ns/default/sa/client")
        .notBefore(now.plus(Duration.ofDays(1))).notAfter(now.plus(Duration.ofDays(2)))), TrustBundle.of(ca.root()));

    assertThat(open(early, serverId, server).reason()).isEqualTo(HboneException.Reason.TLS_FAILURE);
    assertServerLogged("NOT_YET_VALID");
  }

  @Test
  void clientSignedByAnUnknownCa_serverRefuses() throws Exception {
    TestCa rogue = TestCa.create(TD);
    HboneTls unsigned = tlsFor(rogue.issue("spiffe://cluster.local/ns/default/sa/client"), TrustBundle.of(ca.root()));

    assertThat(open(unsigned, serverId, server).reason()).isEqualTo(HboneException.Reason.TLS_FAILURE);
    assertServerLogged("trust");
  }

  @Test
  void serverSignedByAnUnknownCa_clientRefuses() throws Exception {
    TestCa rogue = TestCa.create(TD);
    HboneServer rogueServer = startServer(tlsFor(rogue.issue(serverId.toString()), TrustBundle.of(rogue.root())));
    try {
      HboneException e = open(clientTls, serverId, rogueServer);
      assertThat(e.reason()).isEqualTo(HboneException.Reason.TLS_FAILURE);
      assertThat(verificationReason(e)).isEqualTo(PeerVerificationException.Reason.UNTRUSTED_CHAIN);
    } finally {
      rogueServer.close();
    }
  }

  @Test
  void clientWithoutCertificate_serverRefuses() throws Exception {
    SslContext noCert = SslContextBuilder.forClient().trustManager(ca.root()).protocols("TLSv1.3").endpointIdentificationAlgorithm(null)
        .applicationProtocolConfig(new ApplicationProtocolConfig(ApplicationProtocolConfig.Protocol.ALPN,
            ApplicationProtocolConfig.SelectorFailureBehavior.NO_ADVERTISE,
            ApplicationProtocolConfig.SelectedListenerFailureBehavior.ACCEPT, ApplicationProtocolNames.HTTP_2))
        .build();
    Channel ch = new Bootstrap().group(group).channel(TRANSPORT.socketChannel())
        .handler(new ChannelInitializer<Channel>() {
          @Override
          protected void initChannel(Channel c) {
            c.pipeline().addLast(noCert.newHandler(c.alloc()));
          }
        })
        .connect(server.localAddress()).syncUninterruptibly().channel();

    assertThat(ch.closeFuture().await(10, TimeUnit.SECONDS)).as("the server closes the connection").isTrue();
    assertServerLogged("certificate");
  }

  @Test
  void nonConnectMethod_isAnswered400() throws Exception {
    Http2Headers get = new DefaultHttp2Headers().method("GET").scheme("https").path("/").authority("198.18.0.9:80");
    assertThat(rawRequest(get)).isEqualTo("400");
    assertThat(handlerCalls).hasValue(0);
  }

  @Test
  void connectWithoutPort_isAnswered400() throws Exception {
    Http2Headers bad = new DefaultHttp2Headers().method("CONNECT").authority("198.18.0.9");
    assertThat(rawRequest(bad)).isEqualTo("400");
    assertThat(handlerCalls).hasValue(0);
  }

  /** Sends one request with arbitrary headers over a real mTLS HTTP/2 connection; returns :status. */
  private String rawRequest(Http2Headers headers) throws Exception {
    CompletableFuture<String> status = new CompletableFuture<>();
    SslHandler[] ssl = new SslHandler[1];
    Channel conn = new Bootstrap().group(group).channel(TRANSPORT.socketChannel())
        .handler(new ChannelInitializer<Channel>() {
          @Override
          protected void initChannel(Channel c) {
            ssl[0] = clientTls.newClientHandler(c.alloc(), List.of(serverId));
            c.pipeline().addLast(ssl[0], Http2FrameCodecBuilder.forClient().build(),
                new Http2MultiplexHandler(new ChannelInboundHandlerAdapter()));
          }
        })
        .connect(server.localAddress()).syncUninterruptibly().channel();
    try {
      ssl[0].handshakeFuture().sync();
      Http2StreamChannel stream = new Http2StreamChannelBootstrap(conn).handler(new ChannelInboundHandlerAdapter() {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
          if (msg instanceof Http2HeadersFrame h) {
            status.complete(h.headers().status().toString());
          }
          io.netty.util.ReferenceCountUtil.release(msg);
        }
      }).open().sync().getNow();
      stream.writeAndFlush(new DefaultHttp2HeadersFrame(headers, false));
      return status.get(10, TimeUnit.SECONDS);
    } finally {
      conn.close().sync();
    }
  }
}
