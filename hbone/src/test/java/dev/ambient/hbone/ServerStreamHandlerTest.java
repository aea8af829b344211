package dev.ambient.hbone;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import dev.ambient.identity.SpiffeId;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http2.DefaultHttp2DataFrame;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.DefaultHttp2HeadersFrame;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The server's per-stream CONNECT handling, on an embedded stream channel. */
class ServerStreamHandlerTest {
  private static final SpiffeId PEER = SpiffeId.parse("spiffe://cluster.local/ns/default/sa/client");
  private final AtomicReference<HboneRequest> seen = new AtomicReference<>();
  private final CompletableFuture<HboneDecision> decision = new CompletableFuture<>();
  private final EmbeddedChannel stream = new EmbeddedChannel();
  private final TestDuplexChannel upstream = new TestDuplexChannel();

  private void install() {
    stream.config().setAutoRead(false);
    stream.pipeline().addLast(new ServerStreamHandler(r -> {
      seen.set(r);
      return decision;
    }, PEER, new InetSocketAddress("198.18.0.1", 40000), new InetSocketAddress("198.18.0.2", 15008)));
    stream.pipeline().fireChannelActive();
  }

  @AfterEach
  void tearDown() {
    stream.finishAndReleaseAll();
    upstream.finishAndReleaseAll();
  }

  @Test
  void nonConnectMethod_answers400WithEndStream_andNeverCallsTheHandler() {
    install();
    stream.writeInbound(new DefaultHttp2HeadersFrame(new DefaultHttp2Headers().method("GET").path("/").scheme("https")
        .authority("198.18.0.2:80"), true));

    assertStatus(400, true);
    assertThat(seen.get()).isNull();
  }

  @Test
  void badAuthority_answers400() {
    install();
    stream.writeInbound(new DefaultHttp2HeadersFrame(connect("no-port"), false));

    assertStatus(400, true);
    assertThat(seen.get()).isNull();
  }

  @Test
  void validConnect_handsPeerAuthorityAndHeadersToTheHandler() {
    install();
    Http2Headers h = connect("198.18.0.2:8080").add("baggage", "k8s.namespace.name=default")
        .add("traceparent", "00-0123456789abcdef0123456789abcdef-0123456789abcdef-00");
    stream.writeInbound(new DefaultHttp2HeadersFrame(h, false));

    HboneRequest r = seen.get();
    assertThat(r.peerIdentity()).isEqualTo(PEER);
    assertThat(r.authority().toString()).isEqualTo("198.18.0.2:8080");
    assertThat(r.header("baggage")).contains("k8s.namespace.name=default");
    assertThat(r.headers()).doesNotContainKey(":method");
    assertThat((Object) stream.readOutbound()).as("no answer before the decision").isNull();
  }

  @Test
  void reject_answersItsStatus() {
    install();
    stream.writeInbound(new DefaultHttp2HeadersFrame(connect("198.18.0.2:8080"), false));
    decision.complete(HboneDecision.reject(401, "denied by policy"));

    assertStatus(401, true);
  }

  @Test
  void failedUpstreamConnect_answers503() {
    install();
    stream.writeInbound(new DefaultHttp2HeadersFrame(connect("198.18.0.2:8080"), false));
    decision.complete(HboneDecision.accept(loop -> upstream.newFailedFuture(new IOException("Connection refused"))));

    assertStatus(503, true);
  }

  @Test
  void accept_answers200AfterUpstreamConnected_andDataSentWithTheHeadersIsNotLost() {
    install();
    // HEADERS and the first DATA arrive in one batch, before the decision.
    stream.writeInbound(new DefaultHttp2HeadersFrame(connect("198.18.0.2:8080"), false),
        new DefaultHttp2DataFrame(Unpooled.copiedBuffer("early", UTF_8)));
    assertThat((Object) stream.readOutbound()).isNull();

    decision.complete(HboneDecision.accept(loop -> upstream.newSucceededFuture()));

    assertStatus(200, false);
    assertThat(readAll(upstream)).isEqualTo("early");
    upstream.writeInbound(Unpooled.copiedBuffer("reply", UTF_8));
    io.netty.handler.codec.http2.Http2DataFrame reply = stream.readOutbound();
    assertThat(reply.content().toString(UTF_8)).isEqualTo("reply");
    reply.release();
  }

  @Test
  void connectHeadersWithEndStream_shutDownUpstreamOutput() {
    install();
    stream.writeInbound(new DefaultHttp2HeadersFrame(connect("198.18.0.2:8080"), true));
    decision.complete(HboneDecision.accept(loop -> upstream.newSucceededFuture()));

    assertStatus(200, false);
    assertThat(upstream.isOutputShutdown()).isTrue();
  }

  private static Http2Headers connect(String authority) {
    return new DefaultHttp2Headers().method("CONNECT").authority(authority);
  }

  private void assertStatus(int status, boolean endStream) {
    Http2HeadersFrame answer = stream.readOutbound();
    assertThat(answer).as("an answer").isNotNull();
    assertThat(answer.headers().status().toString()).isEqualTo(Integer.toString(status));
    assertThat(answer.isEndStream()).isEqualTo(endStream);
  }

  private static String readAll(EmbeddedChannel ch) {
    StringBuilder sb = new StringBuilder();
    for (Object o; (o = ch.readOutbound()) != null; ) {
      ByteBuf b = (ByteBuf) o;
      sb.append(b.toString(UTF_8));
      b.release();
    }
    return sb.toString();
  }
}
