package dev.ambient.ztunnel.authz;

import static java.util.Objects.requireNonNull;

import dev.ambient.identity.SpiffeId;
import java.net.InetAddress;
import java.util.Optional;

/**
 * The facts of one inbound connection that policies are matched against (ztunnel's RBAC tuple).
 *
 * <p>{@code dstIp}/{@code dstPort} are the <em>final upstream</em> address: the pod IP and the
 * pod's target port (or its {@code application_tunnel} port), never 15008 and never the service
 * port (spec §6.4). {@code srcIdentity} is empty for plaintext connections. {@code dstNetwork} is
 * not matched by any policy field; it is carried so the destination can be looked up and logged.
 */
public record Connection(
    InetAddress srcIp,
    int srcPort,
    InetAddress dstIp,
    int dstPort,
    Optional<SpiffeId> srcIdentity,
    String dstNetwork) {

  public Connection {
    requireNonNull(srcIp, "srcIp");
    requireNonNull(dstIp, "dstIp");
    requireNonNull(srcIdentity, "srcIdentity");
    requireNonNull(dstNetwork, "dstNetwork");
    checkPort("srcPort", srcPort);
    checkPort("dstPort", dstPort);
  }

  private static void checkPort(String what, int port) {
    if (port < 0 || port > 0xFFFF) {
      throw new IllegalArgumentException(what + " " + port + " out of range");
    }
  }

  @Override
  public String toString() {
    return srcIdentity.map(SpiffeId::toString).orElse("<plaintext>")
        + " " + srcIp.getHostAddress() + ":" + srcPort
        + " -> " + dstNetwork + "/" + dstIp.getHostAddress() + ":" + dstPort;
  }
}
