package dev.ambient.net;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoopGroup;
import io.netty.util.concurrent.EventExecutor;
import java.net.InetSocketAddress;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class LoadPackingGroupTest {
  @ParameterizedTest(name = "shares {0} -> loop {1}")
  @CsvSource(delimiter = ';', value = {
      "0.0 0.0; 0", // idle: always the first loop, never round-robin
      "0.49 0.0; 0", // the first loop is not busy yet
      "0.5 0.0; 1", // busy: spill over to the next loop
      "0.9 0.6 0.1; 2",
      "0.9 0.6; 1", // all busy: the least busy
      "0.7 0.7 0.6; 2",
      "0.8 0.8; 0", // all equally busy: the first of them
      "1.0; 0"})
  void choose_firstNotBusyElseLeastBusy(String shares, int expected) {
    String[] f = shares.trim().split("\\s+");
    double[] s = new double[f.length];
    for (int i = 0; i < f.length; i++) {
      s[i] = Double.parseDouble(f[i]);
    }
    assertThat(LoadPackingGroup.choose(s, LoadPackingGroup.BUSY)).isEqualTo(expected);
  }

  @Test
  void meter_busyShareIsActiveTimeOverTheLastCompletedWindow() {
    long w = LoadPackingGroup.WINDOW_NANOS;
    LoadPackingGroup.Meter m = new LoadPackingGroup.Meter(0);
    assertThat(m.busyShare(w / 2)).isZero(); // no completed window yet
    m.addActive(w / 4);
    m.addActive(w / 4);
    assertThat(m.busyShare(w)).isCloseTo(0.5, within(1e-9));
    m.addActive(w);
    assertThat(m.busyShare(w + w / 2)).isCloseTo(0.5, within(1e-9)); // window not over: the last value
    assertThat(m.busyShare(3 * w)).isCloseTo(0.5, within(1e-9)); // w active in 2w
    assertThat(m.busyShare(4 * w)).isZero(); // idle window
    m.addActive(5 * w); // more than the wall time (clock skew): capped
    assertThat(m.busyShare(5 * w)).isEqualTo(1.0);
  }

  @Test
  void idleGroup_packsNewChannelsOnOneLoop_roundRobinWouldNot() throws Exception {
    Transport t = Transport.defaultTransport();
    EventLoopGroup packing = t.newLoadPackingEventLoopGroup(2, "packing-test");
    EventLoopGroup plain = t.newEventLoopGroup(2, "plain-test");
    try {
      Set<EventExecutor> packed = new HashSet<>();
      Set<EventExecutor> spread = new HashSet<>();
      for (int i = 0; i < 6; i++) {
        packed.add(packing.next());
        spread.add(plain.next());
      }
      assertThat(packed).hasSize(1);
      assertThat(spread).hasSize(2);

      // Channels still work on the measured loops: a real connection over loopback.
      Channel server = new ServerBootstrap().group(packing).channel(t.serverSocketChannel())
          .childHandler(new ChannelInboundHandlerAdapter()).bind(new InetSocketAddress("127.0.0.1", 0)).sync().channel();
      Channel client = new Bootstrap().group(packing).channel(t.socketChannel())
          .handler(new ChannelInboundHandlerAdapter()).connect(server.localAddress()).sync().channel();
      assertThat(client.isActive()).isTrue();
      assertThat(client.eventLoop()).isSameAs(server.eventLoop()); // both on the one idle loop
      client.close().sync();
      server.close().sync();
    } finally {
      packing.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
      plain.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
    }
  }
}
