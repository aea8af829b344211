package dev.ambient.hbone;

import static java.util.Objects.requireNonNull;

import dev.ambient.identity.HboneTls;
import dev.ambient.identity.SpiffeId;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * One tunnel to open with {@link HboneClient#open}.
 *
 * @param tls the source workload's TLS (its certificate gives the source identity)
 * @param expectedIdentities the identities the server may present (any one suffices)
 * @param destination the HBONE endpoint, usually {@code <pod IP>:15008}
 * @param sourceIp local address to bind the connection to, or null for the default
 * @param authority the CONNECT {@code :authority}: the final target
 * @param headers extra request headers ({@code baggage}, {@code forwarded}, {@code traceparent}, ...)
 */
public record HboneConnectRequest(
    HboneTls tls,
    List<SpiffeId> expectedIdentities,
    InetSocketAddress destination,
    @Nullable InetAddress sourceIp,
    Authority authority,
    Map<String, String> headers) {

  public HboneConnectRequest {
    requireNonNull(tls, "tls");
    expectedIdentities = List.copyOf(expectedIdentities);
    requireNonNull(destination, "destination");
    requireNonNull(authority, "authority");
    headers = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(headers));
  }

  public static HboneConnectRequest of(
      HboneTls tls, SpiffeId expected, InetSocketAddress destination, Authority authority) {
    return new HboneConnectRequest(tls, List.of(expected), destination, null, authority, Map.of());
  }

  public PoolKey poolKey() {
    return new PoolKey(tls.certificate().identity(), expectedIdentities, destination, sourceIp);
  }

  public HboneConnectRequest withHeader(String name, String value) {
    Map<String, String> h = new LinkedHashMap<>(headers);
    h.put(name, value);
    return new HboneConnectRequest(tls, expectedIdentities, destination, sourceIp, authority, h);
  }

  public HboneConnectRequest withSourceIp(InetAddress ip) {
    return new HboneConnectRequest(tls, expectedIdentities, destination, ip, authority, headers);
  }
}
