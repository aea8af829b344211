package dev.ambient.ztunnel.inpod;

import static dev.ambient.ztunnel.inpod.ZdsMessagesTest.add;
import static dev.ambient.ztunnel.inpod.ZdsMessagesTest.del;
import static dev.ambient.ztunnel.inpod.ZdsMessagesTest.keep;
import static dev.ambient.ztunnel.inpod.ZdsMessagesTest.snapshot;
import static org.assertj.core.api.Assertions.assertThat;

import dev.ambient.net.SeqPacketSocket;
import dev.ambient.xds.api.zds.Version;
import dev.ambient.xds.api.zds.WorkloadResponse;
import dev.ambient.xds.api.zds.ZdsHello;
import dev.ambient.ztunnel.ZtunnelConfig.WorkloadInfo;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The ZDS client against a fake node agent written with {@link SeqPacketSocket} (spec §7.1–§7.4):
 * hello, one ack per request, the netns descriptor, errors acked without a crash, reconnects.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ZdsClientTest {
  private static final Duration WAIT = Duration.ofSeconds(5);
  private static final Path OWN_NETNS = Path.of("/proc/self/ns/net");

  @TempDir Path dir;
  private final List<AutoCloseable> closeables = new ArrayList<>();
  private final RecordingHandler handler = new RecordingHandler();
  private final CompletableFuture<ZdsException> fatal = new CompletableFuture<>();

  @AfterEach
  void tearDown() throws Exception {
    for (int i = closeables.size() - 1; i >= 0; i--) {
      closeables.get(i).close();
    }
  }

  /** Records the calls in order; the netns of an add is checked and closed. */
  static final class RecordingHandler implements ZdsHandler {
    final BlockingQueue<String> events = new LinkedBlockingQueue<>();
    volatile Optional<String> addResult = Optional.empty();
    volatile NetnsId lastNetns = new NetnsId(0, 0);

    @Override
    public void connected() {
      events.add("connected");
    }

    @Override
    public Optional<String> add(String uid, WorkloadInfo info, PodNetns netns) {
      lastNetns = netns.id();
      netns.close();
      events.add("add " + uid + " " + info.namespace() + "/" + info.name() + "/" + info.serviceAccount());
      return addResult;
    }

    @Override
    public void keep(String uid) {
      events.add("keep " + uid);
    }

    @Override
    public void delete(String uid) {
      events.add("del " + uid);
    }

    @Override
    public void snapshotSent() {
      events.add("snapshot");
    }

    @Override
    public void disconnected() {
      events.add("disconnected");
    }

    String next() throws InterruptedException {
      String e = events.poll(WAIT.toMillis(), TimeUnit.MILLISECONDS);
      assertThat(e).as("next handler event").isNotNull();
      return e;
    }
  }

  private Path socketPath() {
    return dir.resolve("ztunnel.sock");
  }

  private SeqPacketSocket listen() throws IOException {
    SeqPacketSocket l = SeqPacketSocket.listen(socketPath(), 4);
    l.setTimeouts(WAIT, WAIT);
    closeables.add(l);
    return l;
  }

  private ZdsClient client() {
    ZdsClient c = ZdsClient.start(socketPath(), handler, fatal::complete, Duration.ofMillis(50));
    closeables.add(c);
    return c;
  }

  /** Accepts the client and checks its hello. */
  private static SeqPacketSocket acceptHello(SeqPacketSocket listener) throws Exception {
    SeqPacketSocket s = listener.accept();
    s.setTimeouts(WAIT, WAIT);
    SeqPacketSocket.Packet hello = s.receive(1024).orElseThrow();
    assertThat(ZdsHello.parseFrom(hello.data()).getVersion()).isEqualTo(Version.V1);
    assertThat(hello.fd()).isEmpty();
    return s;
  }

  /** Sends one request (with the test process's own netns as descriptor when asked) and returns the ack's error. */
  private static String request(SeqPacketSocket s, byte[] message, boolean withFd) throws IOException {
    if (withFd) {
      int fd = SeqPacketSocket.openReadOnly(OWN_NETNS);
      try {
        s.send(message, OptionalInt.of(fd));
      } finally {
        SeqPacketSocket.closeFd(fd);
      }
    } else {
      s.send(message, OptionalInt.empty());
    }
    SeqPacketSocket.Packet reply = s.receive(1024).orElseThrow(() -> new IOException("EOF instead of an ack"));
    WorkloadResponse r = WorkloadResponse.parseFrom(reply.data());
    assertThat(r.hasAck()).isTrue();
    return r.getAck().getError();
  }

  @Test
  void hello_snapshot_andChanges_eachAcked_withTheNetnsDescriptor() throws Exception {
    SeqPacketSocket listener = listen();
    client();
    try (SeqPacketSocket s = acceptHello(listener)) {
      assertThat(request(s, add("u1", true), true)).isEmpty();
      assertThat(request(s, keep("u2"), false)).isEmpty();
      assertThat(request(s, snapshot(), false)).isEmpty();
      assertThat(request(s, del("u1"), false)).isEmpty();
      assertThat(request(s, add("u3", true), true)).isEmpty();
    }
    assertThat(List.of(handler.next(), handler.next(), handler.next(), handler.next(), handler.next(), handler.next()))
        .containsExactly("connected", "add u1 ns/pod-a/sa", "keep u2", "snapshot", "del u1", "add u3 ns/pod-a/sa");
    assertThat(handler.lastNetns).as("the descriptor is the netns we passed").isEqualTo(NetnsId.ofFd(ownNetnsFd()));
  }

  private int ownNetnsFd() throws IOException {
    int fd = SeqPacketSocket.openReadOnly(OWN_NETNS);
    closeables.add(() -> SeqPacketSocket.closeFd(fd));
    return fd;
  }

  @Test
  void handlerError_isAckedAsTheErrorText_andTheConnectionStays() throws Exception {
    SeqPacketSocket listener = listen();
    client();
    handler.addResult = Optional.of("cannot start the proxy: Address already in use");
    try (SeqPacketSocket s = acceptHello(listener)) {
      assertThat(request(s, add("u1", true), true)).isEqualTo("cannot start the proxy: Address already in use");
      assertThat(request(s, snapshot(), false)).isEmpty();
    }
  }

  @Test
  void malformedMessage_getsAnErrorAck_thenTheClientReconnects() throws Exception {
    SeqPacketSocket listener = listen();
    ZdsClient c = client();
    try (SeqPacketSocket s = acceptHello(listener)) {
      assertThat(request(s, new byte[] {(byte) 0xff, (byte) 0xff, 0x01}, false)).contains("malformed");
      assertThat(s.receive(1024)).as("the client closed the connection").isEmpty();
    }
    try (SeqPacketSocket s = acceptHello(listener)) {
      assertThat(request(s, snapshot(), false)).isEmpty();
    }
    assertThat(List.of(handler.next(), handler.next(), handler.next(), handler.next()))
        .containsExactly("connected", "disconnected", "connected", "snapshot");
    assertThat(c.connections()).isEqualTo(2);
    assertThat(fatal).isNotDone();
  }

  @Test
  void descriptorWithDel_isAnError_notACrash() throws Exception {
    SeqPacketSocket listener = listen();
    client();
    try (SeqPacketSocket s = acceptHello(listener)) {
      assertThat(request(s, del("u1"), true)).contains("unexpected file descriptor with DelWorkload");
    }
    try (SeqPacketSocket s = acceptHello(listener)) {
      assertThat(request(s, add("u1", true), false)).contains("without a netns file descriptor");
    }
    try (SeqPacketSocket s = acceptHello(listener)) {
      assertThat(request(s, add("u1", true), true)).isEmpty();
    }
    assertThat(fatal).isNotDone();
  }

  @Test
  void agentStartsLater_andRestarts_theClientKeepsReconnecting() throws Exception {
    ZdsClient c = client();
    Thread.sleep(200); // a few failed connects with backoff
    SeqPacketSocket listener = listen();
    try (SeqPacketSocket s = acceptHello(listener)) {
      assertThat(request(s, snapshot(), false)).isEmpty();
    }
    listener.close();
    Thread.sleep(100);
    SeqPacketSocket again = listen();
    try (SeqPacketSocket s = acceptHello(again)) {
      assertThat(request(s, snapshot(), false)).as("a new connection has its own snapshot").isEmpty();
    }
    assertThat(c.connections()).isEqualTo(2);
  }

  @Test
  void protocolError_isAcked_thenTheClientStops() throws Exception {
    SeqPacketSocket listener = listen();
    client();
    try (SeqPacketSocket s = acceptHello(listener)) {
      assertThat(request(s, snapshot(), false)).isEmpty();
      assertThat(request(s, keep("u1"), false)).contains("KeepWorkload u1 after SnapshotSent");
      assertThat(s.receive(1024)).isEmpty();
    }
    assertThat(fatal).succeedsWithin(WAIT).satisfies(e -> assertThat(e.fatal()).isTrue());
    listener.setTimeouts(Duration.ofMillis(500), WAIT);
    org.assertj.core.api.Assertions.assertThatThrownBy(listener::accept)
        .as("no reconnect after a protocol error").isInstanceOf(java.net.SocketTimeoutException.class);
  }

  @Test
  void close_wakesTheBlockedRead_andEndsTheThread() throws Exception {
    SeqPacketSocket listener = listen();
    ZdsClient c = client();
    try (SeqPacketSocket s = acceptHello(listener)) {
      assertThat(handler.next()).isEqualTo("connected");
      c.close();
      assertThat(handler.next()).isEqualTo("disconnected");
      assertThat(s.receive(1024)).isEmpty();
    }
  }
}
