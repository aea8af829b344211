package dev.ambient.cni.plugin;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import dev.ambient.cni.http.HttpHead;
import dev.ambient.testing.IssuedCertificate;
import dev.ambient.testing.LeafSpec;
import dev.ambient.testing.TestCa;
import java.io.BufferedInputStream;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLHandshakeException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The plugin's hand-written API client against scripted plain-HTTP servers (Content-Length, chunked,
 * close-delimited bodies, keep-alive and a server that closes between requests) and a JDK HTTPS
 * server with a test CA (trusted through the kubeconfig's certificate-authority-data; another CA and
 * a certificate for another address are refused).
 */
class KubeApiLookupTest {
  static final String POD = "{\"metadata\":{\"name\":\"web-1\",\"namespace\":\"shop\",\"labels\":{\"app\":\"web\"},"
      + "\"annotations\":{\"a\":\"b\"}},\"spec\":{\"hostNetwork\":true,\"containers\":[{\"name\":\"app\"},{\"name\":\"log\"}]}}";
  static final String NS = "{\"metadata\":{\"name\":\"shop\",\"labels\":{\"istio.io/dataplane-mode\":\"ambient\"}}}";

  @TempDir Path dir;
  final List<AutoCloseable> servers = new CopyOnWriteArrayList<>();
  final List<String> requests = new CopyOnWriteArrayList<>();
  final AtomicInteger connections = new AtomicInteger();

  @AfterEach
  void stop() throws Exception {
    for (AutoCloseable s : servers) {
      s.close();
    }
  }

  /** A loopback server: for each request head, {@code answer} gives the raw response bytes; null closes. */
  int scripted(Function<String, String> answer) throws IOException {
    ServerSocket ss = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    servers.add(ss);
    Thread.ofPlatform().daemon().start(() -> {
      while (!ss.isClosed()) {
        try {
          Socket s = ss.accept();
          connections.incrementAndGet();
          Thread.ofPlatform().daemon().start(() -> serve(s, answer));
        } catch (IOException e) {
          return;
        }
      }
    });
    return ss.getLocalPort();
  }

  private void serve(Socket s, Function<String, String> answer) {
    try (s) {
      InputStream in = new BufferedInputStream(s.getInputStream());
      OutputStream out = s.getOutputStream();
      HttpHead head;
      while ((head = HttpHead.read(in, 16 * 1024)) != null) {
        requests.add(head.startLine() + " auth=" + head.header("authorization") + " host=" + head.header("host"));
        String r = answer.apply(head.startLine());
        if (r == null) {
          return;
        }
        out.write(r.getBytes(StandardCharsets.UTF_8));
        out.flush();
        if (r.contains("Connection: close")) {
          return;
        }
      }
    } catch (IOException e) {
      // client went away
    }
  }

  static String body(String startLine) {
    return startLine.contains("/pods/") ? POD : NS;
  }

  static String fixed(String json, String extraHeader) {
    byte[] b = json.getBytes(StandardCharsets.UTF_8);
    return "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n" + extraHeader + "Content-Length: " + b.length
        + "\r\n\r\n" + json;
  }

  static String chunked(String json) {
    int half = json.length() / 2;
    return "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        + Integer.toHexString(half) + ";ext=1\r\n" + json.substring(0, half) + "\r\n"
        + Integer.toHexString(json.length() - half) + "\r\n" + json.substring(half) + "\r\n0\r\nX-Trailer: t\r\n\r\n";
  }

  PodLookup lookup(String server, String extra) throws IOException {
    Path kc = dir.resolve("kubeconfig");
    Files.writeString(kc, """
        apiVersion: v1
        clusters:
        - cluster:
            server: %s
        %s  name: c
        users:
        - name: istio-cni
          user:
            token: "tok-1"
        """.formatted(server, extra));
    return KubeApiLookup.fromKubeconfig(kc);
  }

  static void assertFacts(PodLookup.Facts f) {
    assertThat(f.pod().name()).isEqualTo("web-1");
    assertThat(f.pod().labels()).isEqualTo(Map.of("app", "web"));
    assertThat(f.pod().annotations()).isEqualTo(Map.of("a", "b"));
    assertThat(f.pod().hostNetwork()).isTrue();
    assertThat(f.pod().containerNames()).containsExactly("app", "log");
    assertThat(f.namespaceLabels()).isEqualTo(Map.of("istio.io/dataplane-mode", "ambient"));
  }

  @Test
  void contentLengthBodiesOnOneKeptAliveConnectionWithTheToken() throws Exception {
    int port = scripted(l -> fixed(body(l), ""));
    assertFacts(lookup("http://127.0.0.1:" + port, "").lookup("shop", "web-1"));
    assertThat(requests).containsExactly(
        "GET /api/v1/namespaces/shop/pods/web-1 HTTP/1.1 auth=Bearer tok-1 host=127.0.0.1:" + port,
        "GET /api/v1/namespaces/shop HTTP/1.1 auth=Bearer tok-1 host=127.0.0.1:" + port);
    assertThat(connections).hasValue(1);
  }

  @Test
  void chunkedBodiesAndAServerPathPrefix() throws Exception {
    int port = scripted(l -> chunked(body(l)));
    assertFacts(lookup("http://localhost:" + port + "/k8s/", "").lookup("shop", "web-1"));
    assertThat(requests).extracting(r -> r.split(" ")[1])
        .containsExactly("/k8s/api/v1/namespaces/shop/pods/web-1", "/k8s/api/v1/namespaces/shop");
  }

  @Test
  void aServerThatClosesAfterEachAnswerGetsANewConnection() throws Exception {
    int port = scripted(l -> fixed(body(l), "Connection: close\r\n"));
    assertFacts(lookup("http://127.0.0.1:" + port, "").lookup("shop", "web-1"));
    assertThat(connections).hasValue(2);
  }

  @Test
  void aKeptAliveConnectionDroppedSilentlyIsRetriedOnceOnAFreshOne() throws Exception {
    AtomicInteger n = new AtomicInteger();
    // the second request on the first connection gets no answer (the server drops it)
    int port = scripted(l -> n.incrementAndGet() == 2 ? null : fixed(body(l), ""));
    assertFacts(lookup("http://127.0.0.1:" + port, "").lookup("shop", "web-1"));
    assertThat(connections).hasValue(2);
  }

  @Test
  void non200IsAnErrorNamingThePathAndStatus() throws Exception {
    int port = scripted(l -> "HTTP/1.1 403 Forbidden\r\nContent-Length: 2\r\n\r\nno");
    assertThatThrownBy(() -> lookup("http://127.0.0.1:" + port, "").lookup("shop", "web-1"))
        .isInstanceOf(IOException.class).hasMessage("GET /api/v1/namespaces/shop/pods/web-1 answered 403");
  }

  @Test
  void garbageAnswersAreClearErrors() throws Exception {
    int bad = scripted(l -> "SSH-2.0-OpenSSH\r\n\r\n");
    assertThatThrownBy(() -> lookup("http://127.0.0.1:" + bad, "").lookup("shop", "web-1"))
        .isInstanceOf(IOException.class).hasMessageContaining("malformed HTTP status line");
    int notJson = scripted(l -> fixed("<html>", ""));
    assertThatThrownBy(() -> lookup("http://127.0.0.1:" + notJson, "").lookup("shop", "web-1"))
        .isInstanceOf(IOException.class).hasMessageStartingWith("GET /api/v1/namespaces/shop/pods/web-1: ");
    assertThatThrownBy(() -> lookup("ftp://127.0.0.1:1", "")).isInstanceOf(IOException.class)
        .hasMessageContaining("is not an http(s)://host[:port] URL");
  }

  @Test
  void chunkedDecodingRejectsOversizeAndMalformedChunks() {
    assertThatThrownBy(() -> ApiConnection.readChunked(stream("10\r\n0123456789abcdef\r\n0\r\n\r\n"), 8))
        .hasMessageContaining("exceeds 8 bytes");
    assertThatThrownBy(() -> ApiConnection.readChunked(stream("zz\r\n"), 100)).hasMessageContaining("bad chunk size");
    assertThatThrownBy(() -> ApiConnection.readChunked(stream("3\r\nabcX\r\n"), 100))
        .hasMessageContaining("not followed by CRLF");
    assertThatThrownBy(() -> ApiConnection.readChunked(stream("3\r\nab"), 100)).hasMessageContaining("closed");
  }

  @Test
  void statusLines() throws IOException {
    assertThat(ApiConnection.status("HTTP/1.1 200 OK")).isEqualTo(200);
    assertThat(ApiConnection.status("HTTP/1.0 404")).isEqualTo(404);
    for (String bad : List.of("HTTP/2 200 OK", "HTTP/1.1 20 OK", "HTTP/1.1 abc OK", "")) {
      assertThatThrownBy(() -> ApiConnection.status(bad)).isInstanceOf(IOException.class);
    }
  }

  static InputStream stream(String s) {
    return new ByteArrayInputStream(s.getBytes(StandardCharsets.ISO_8859_1));
  }

  /** A JDK HTTPS server on 127.0.0.1 with a leaf of {@code ca} for {@code ip}. */
  int https(TestCa ca, String ip) throws Exception {
    IssuedCertificate leaf = ca.issue(LeafSpec.uris().ipAddresses(ip));
    KeyStore ks = KeyStore.getInstance("PKCS12");
    ks.load(null, null);
    ks.setKeyEntry("k", leaf.privateKey(), new char[0], leaf.chain().toArray(new Certificate[0]));
    KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
    kmf.init(ks, new char[0]);
    SSLContext ctx = SSLContext.getInstance("TLS");
    ctx.init(kmf.getKeyManagers(), null, null);
    HttpsServer s = HttpsServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    s.setHttpsConfigurator(new HttpsConfigurator(ctx));
    s.createContext("/api/v1/namespaces/", ex -> {
      requests.add(ex.getRequestURI().getPath() + " auth=" + ex.getRequestHeaders().getFirst("Authorization"));
      byte[] b = body(ex.getRequestURI().getPath()).getBytes(StandardCharsets.UTF_8);
      ex.sendResponseHeaders(200, b.length);
      ex.getResponseBody().write(b);
      ex.close();
    });
    s.start();
    servers.add(() -> s.stop(0));
    return s.getAddress().getPort();
  }

  static String caData(TestCa ca) {
    String pem = ca.issue(LeafSpec.uris()).rootPem();
    return "    certificate-authority-data: " + Base64.getEncoder().encodeToString(pem.getBytes(StandardCharsets.US_ASCII))
        + "\n";
  }

  @Test
  void httpsTrustingTheKubeconfigCa() throws Exception {
    TestCa ca = TestCa.create("cluster.local");
    int port = https(ca, "127.0.0.1");
    assertFacts(lookup("https://127.0.0.1:" + port, caData(ca)).lookup("shop", "web-1"));
    assertThat(requests).containsExactly("/api/v1/namespaces/shop/pods/web-1 auth=Bearer tok-1",
        "/api/v1/namespaces/shop auth=Bearer tok-1");
  }

  @Test
  void httpsRefusesAnotherCaAndACertificateForAnotherAddress() throws Exception {
    TestCa ca = TestCa.create("cluster.local");
    int port = https(ca, "127.0.0.1");
    assertThatThrownBy(() -> lookup("https://127.0.0.1:" + port, caData(TestCa.create("other.local")))
        .lookup("shop", "web-1")).isInstanceOf(SSLHandshakeException.class);
    int wrongIp = https(ca, "198.18.0.1");
    assertThatThrownBy(() -> lookup("https://127.0.0.1:" + wrongIp, caData(ca)).lookup("shop", "web-1"))
        .isInstanceOf(SSLHandshakeException.class).hasMessageContaining("127.0.0.1");
    assertThat(requests).isEmpty();
  }
}
