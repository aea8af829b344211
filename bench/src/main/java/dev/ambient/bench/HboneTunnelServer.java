package dev.ambient.bench;

import dev.ambient.hbone.Http2Config;
import dev.ambient.net.Transport;
import java.net.InetSocketAddress;
import java.nio.file.Path;

/**
 * The HBONE server of {@code ./ambient bench hbone} as its own JVM.
 *
 * <p>Usage: {@code HboneTunnelServer <port> <certDir> [eventLoops=1] [maxFrameSize=0 (library default)]}; prints
 * {@code READY <port> transport=<t>} once listening, runs until killed.
 */
public final class HboneTunnelServer {
  private HboneTunnelServer() {}

  public static void main(String[] args) throws InterruptedException {
    int port = Integer.parseInt(args[0]);
    Path certs = Path.of(args[1]);
    int loops = args.length > 2 ? Integer.parseInt(args[2]) : 1;
    int maxFrame = args.length > 3 ? Integer.parseInt(args[3]) : 0;
    Http2Config http2 = maxFrame > 0 ? Http2Config.serverDefaults().withMaxFrameSize(maxFrame) : Http2Config.serverDefaults();
    Transport transport = Transport.defaultTransport();
    TunnelExit exit = new TunnelExit(BenchCerts.load(certs), transport, loops, new InetSocketAddress("127.0.0.1", port), http2);
    Runtime.getRuntime().addShutdownHook(new Thread(exit::close, "shutdown"));
    System.out.println("READY " + exit.localAddress().getPort() + " transport=" + transport.label());
    System.out.flush();
    Thread.currentThread().join();
  }
}
