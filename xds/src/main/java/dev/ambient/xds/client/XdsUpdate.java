package dev.ambient.xds.client;

import java.util.Map;
import java.util.Set;

/**
 * One response's worth of accepted changes, to be applied as one batch: upserts first, then
 * removals (a name in both ends up removed). Keys are xDS resource names. Only records, never
 * protobuf. Rejected resources are absent: the watcher keeps whatever it had for them.
 *
 * @param addresses upserted workloads (by uid) and services (by {@code namespace/hostname})
 * @param removedAddresses names from {@code removed_resources}: a uid, a {@code namespace/hostname}, or
 *     an on-demand alias such as {@code /198.18.0.5} that never named a held resource
 * @param authorizations upserted policies by {@code namespace/name}
 * @param removedAuthorizations removed policy names
 */
public record XdsUpdate(
    Map<String, AddressResource> addresses,
    Set<String> removedAddresses,
    Map<String, Authorization> authorizations,
    Set<String> removedAuthorizations) {

  public XdsUpdate {
    addresses = Map.copyOf(addresses);
    removedAddresses = Set.copyOf(removedAddresses);
    authorizations = Map.copyOf(authorizations);
    removedAuthorizations = Set.copyOf(removedAuthorizations);
  }

  /** Whether there is nothing to apply. */
  public boolean isEmpty() {
    return addresses.isEmpty() && removedAddresses.isEmpty() && authorizations.isEmpty()
        && removedAuthorizations.isEmpty();
  }

  /** Whether at least one policy changed (ztunnel re-evaluates live connections then). */
  public boolean policiesChanged() {
    return !authorizations.isEmpty() || !removedAuthorizations.isEmpty();
  }
}
