package dev.ambient.bench;

import dev.ambient.identity.SpiffeId;
import dev.ambient.net.Transport;
import java.net.InetSocketAddress;
import java.nio.file.Path;

/**
 * The HBONE client of {@code ./ambient bench hbone} as its own JVM: a plain TCP listener whose
 * connections are tunnelled over HBONE to the server, with {@code :authority = target}.
 *
 * <p>Usage: {@code HboneTunnelClient <port> <certDir> <serverPort> <serverSpiffeId> <targetPort> [eventLoops=1]}
 * (all addresses 127.0.0.1); prints {@code READY <port> transport=<t>}, runs until killed.
 */
public final class HboneTunnelClient {
  private HboneTunnelClient() {}

  public static void main(String[] args) throws InterruptedException {
    int port = Integer.parseInt(args[0]);
    Path certs = Path.of(args[1]);
    InetSocketAddress server = new InetSocketAddress("127.0.0.1", Integer.parseInt(args[2]));
    SpiffeId serverId = SpiffeId.parse(args[3]);
    InetSocketAddress target = new InetSocketAddress("127.0.0.1", Integer.parseInt(args[4]));
    int loops = args.length > 5 ? Integer.parseInt(args[5]) : 1;
    Transport transport = Transport.defaultTransport();
    TunnelEntry entry = new TunnelEntry(BenchCerts.load(certs), transport, loops,
        new InetSocketAddress("127.0.0.1", port), server, serverId, target);
    Runtime.getRuntime().addShutdownHook(new Thread(entry::close, "shutdown"));
    System.out.println("READY " + entry.localAddress().getPort() + " transport=" + transport.label());
    System.out.flush();
    Thread.currentThread().join();
  }
}
