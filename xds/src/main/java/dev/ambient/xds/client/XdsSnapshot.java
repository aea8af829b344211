package dev.ambient.xds.client;

import java.util.Map;

/** An immutable view of everything the client holds, by xDS resource name. */
public record XdsSnapshot(Map<String, AddressResource> addresses, Map<String, Authorization> authorizations) {
  public static final XdsSnapshot EMPTY = new XdsSnapshot(Map.of(), Map.of());

  public XdsSnapshot {
    addresses = Map.copyOf(addresses);
    authorizations = Map.copyOf(authorizations);
  }
}
