package dev.ambient.ztunnel.telemetry;

import static java.util.Objects.requireNonNull;

import dev.ambient.identity.SpiffeId;
import dev.ambient.xds.client.Service;
import dev.ambient.xds.client.Workload;
import java.net.InetSocketAddress;
import java.util.Map;
import java.util.Optional;

/**
 * What is known about one connection when it is reported as opened (spec §9.2 label population,
 * §9.3 access log fields). Telemetry derives every label from these facts.
 *
 * @param reporter outbound ({@code source}) or inbound ({@code destination})
 * @param source the client address ({@code src.addr})
 * @param destination the L4 next hop ({@code dst.addr}; e.g. {@code <pod IP>:15008} for HBONE)
 * @param hboneAuthority the CONNECT {@code :authority} ({@code dst.hbone_addr}), when tunnelled
 * @param sourceWorkload the source workload (outbound: the local workload; inbound: looked up peer)
 * @param sourceIdentity the source's mTLS identity, only when the hop is mTLS
 * @param destinationWorkload the destination workload, when known (absent for passthrough)
 * @param destinationIdentity the destination's identity, only when the hop is mTLS
 * @param destinationService the destination service, when the traffic was service-addressed
 * @param securityPolicy {@code mutual_tls} for HBONE hops, else {@code unknown}
 * @param sourceBaggage attributes from the request's {@code baggage} header (inbound), used for
 *     source labels when the source workload is not known
 */
public record ConnectionFacts(
    Reporter reporter,
    InetSocketAddress source,
    InetSocketAddress destination,
    Optional<String> hboneAuthority,
    Optional<Workload> sourceWorkload,
    Optional<SpiffeId> sourceIdentity,
    Optional<Workload> destinationWorkload,
    Optional<SpiffeId> destinationIdentity,
    Optional<Service> destinationService,
    SecurityPolicy securityPolicy,
    Map<String, String> sourceBaggage) {

  public ConnectionFacts {
    requireNonNull(reporter, "reporter");
    requireNonNull(source, "source");
    requireNonNull(destination, "destination");
    requireNonNull(hboneAuthority, "hboneAuthority");
    requireNonNull(sourceWorkload, "sourceWorkload");
    requireNonNull(sourceIdentity, "sourceIdentity");
    requireNonNull(destinationWorkload, "destinationWorkload");
    requireNonNull(destinationIdentity, "destinationIdentity");
    requireNonNull(destinationService, "destinationService");
    requireNonNull(securityPolicy, "securityPolicy");
    sourceBaggage = Map.copyOf(sourceBaggage);
  }
}
