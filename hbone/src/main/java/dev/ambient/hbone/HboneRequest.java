package dev.ambient.hbone;

import static java.util.Objects.requireNonNull;

import dev.ambient.identity.SpiffeId;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A valid inbound CONNECT, as handed to the {@link HboneHandler}.
 *
 * @param peerIdentity the client's identity: first SPIFFE URI SAN of its certificate
 * @param authority the parsed {@code :authority}
 * @param headers the request's regular headers (lower-case names; pseudo-headers excluded)
 * @param remoteAddress the TCP peer of the HBONE connection
 * @param localAddress the local end of the HBONE connection (the address the client dialled)
 */
public record HboneRequest(
    SpiffeId peerIdentity,
    Authority authority,
    Map<String, List<String>> headers,
    InetSocketAddress remoteAddress,
    InetSocketAddress localAddress) {

  public HboneRequest {
    requireNonNull(peerIdentity, "peerIdentity");
    requireNonNull(authority, "authority");
    headers = Map.copyOf(headers);
    requireNonNull(remoteAddress, "remoteAddress");
    requireNonNull(localAddress, "localAddress");
  }

  /** The first value of header {@code name} (lower case), if present. */
  public Optional<String> header(String name) {
    List<String> values = headers.get(name);
    return values == null || values.isEmpty() ? Optional.empty() : Optional.of(values.getFirst());
  }
}
