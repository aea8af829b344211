package dev.ambient.ztunnel.telemetry;

import dev.ambient.identity.SpiffeId;
import dev.ambient.xds.client.Locality;
import dev.ambient.xds.client.Service;
import dev.ambient.xds.client.Workload;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Workloads whose pod name, workload name, canonical name and revision all differ, so tests see
 * which field feeds which label. Addresses: 198.18.0.0/15 and 2001:db8::/32 only.
 */
final class TelemetryFixtures {
  static final SpiffeId CLIENT_ID = SpiffeId.of("cluster.local", "ns-client", "sa-client");
  static final SpiffeId SERVER_ID = SpiffeId.of("cluster.local", "ns-server", "sa-server");

  private TelemetryFixtures() {}

  static Workload client() {
    return workload("client-7d9f-abcde", "ns-client", "sa-client", "client-deploy", "client-app", "v1",
        "cluster-a", Optional.empty());
  }

  static Workload server() {
    return workload("server-5c4b-xyz12", "ns-server", "sa-server", "server-deploy", "server-app", "v2",
        "cluster-b", Optional.empty());
  }

  static Workload workload(String pod, String namespace, String serviceAccount, String workloadName,
      String canonicalName, String revision, String cluster, Optional<Locality> locality) {
    return new Workload("Kubernetes//Pod/" + namespace + "/" + pod, pod, namespace, List.of(ip("198.18.0.2")), "",
        "", Workload.TunnelProtocol.HBONE, "cluster.local", serviceAccount, Optional.empty(), Optional.empty(),
        "node-a", canonicalName, revision, Workload.WorkloadType.DEPLOYMENT, workloadName, false, Optional.empty(),
        Map.of(), List.of(), Workload.Status.HEALTHY, cluster, locality, Workload.NetworkMode.STANDARD, 1);
  }

  static Service service() {
    return new Service("echo", "ns-server", "echo.ns-server.svc.cluster.local", List.of(), List.of(), List.of(),
        Optional.empty(), Optional.empty(), Service.IpFamilies.AUTOMATIC, false, List.of(),
        Service.Visibility.PUBLIC);
  }

  static InetAddress ip(String s) {
    try {
      return InetAddress.getByName(s);
    } catch (UnknownHostException e) {
      throw new IllegalArgumentException(s, e);
    }
  }

  static InetSocketAddress sock(String ip, int port) {
    return new InetSocketAddress(ip(ip), port);
  }

  /** Outbound HBONE from {@link #client()} through {@code echo} to {@link #server()}. */
  static ConnectionFacts outboundHbone() {
    return new ConnectionFacts(Reporter.SOURCE, sock("198.18.0.1", 46238), sock("198.18.0.2", 15008),
        Optional.of("198.19.0.10:80"), Optional.of(client()), Optional.of(CLIENT_ID), Optional.of(server()),
        Optional.of(SERVER_ID), Optional.of(service()), SecurityPolicy.MUTUAL_TLS, Map.of());
  }

  /** Outbound passthrough: plain TCP to an address no workload owns. */
  static ConnectionFacts outboundPassthrough() {
    return new ConnectionFacts(Reporter.SOURCE, sock("198.18.0.1", 46238), sock("198.19.1.1", 443),
        Optional.empty(), Optional.of(client()), Optional.empty(), Optional.empty(), Optional.empty(),
        Optional.empty(), SecurityPolicy.UNKNOWN, Map.of());
  }

  /** Inbound HBONE whose peer workload is unknown: source from the baggage and the peer identity. */
  static ConnectionFacts inboundDerived(Map<String, String> baggage) {
    return new ConnectionFacts(Reporter.DESTINATION, sock("198.18.0.1", 40000), sock("198.18.0.2", 8080),
        Optional.of("198.18.0.2:8080"), Optional.empty(), Optional.of(CLIENT_ID), Optional.of(server()),
        Optional.of(SERVER_ID), Optional.of(service()), SecurityPolicy.MUTUAL_TLS, baggage);
  }
}
