package dev.ambient.ztunnel.authz;

import static java.util.Objects.requireNonNull;

import dev.ambient.xds.client.Authorization;
import dev.ambient.xds.client.Workload;
import java.util.Optional;

/**
 * Proof that a {@link Connection} to a destination workload passed authorization. Only {@link
 * Authorizer} can build one (the constructor is package-private), so code that accepts an {@code
 * AuthorizedConnection} cannot be reached by a connection that skipped the check.
 *
 * <p>Immutable. It remembers the policy index it was checked against so {@link LiveConnections}
 * can tell whether a policy change raced with registration.
 */
public final class AuthorizedConnection {
  private final Connection connection;
  private final Workload destination;
  private final Optional<Authorization> policy;
  private final PolicyIndex checkedAgainst;

  AuthorizedConnection(
      Connection connection, Workload destination, Optional<Authorization> policy, PolicyIndex checkedAgainst) {
    this.connection = requireNonNull(connection, "connection");
    this.destination = requireNonNull(destination, "destination");
    this.policy = requireNonNull(policy, "policy");
    this.checkedAgainst = requireNonNull(checkedAgainst, "checkedAgainst");
  }

  public Connection connection() {
    return connection;
  }

  /** The destination workload snapshot taken when the connection was accepted. */
  public Workload destination() {
    return destination;
  }

  /** The enforced ALLOW policy that matched; empty when the destination had no ALLOW policy. */
  public Optional<Authorization> policy() {
    return policy;
  }

  PolicyIndex checkedAgainst() {
    return checkedAgainst;
  }

  @Override
  public String toString() {
    return connection + " (" + destination.uid() + ") allowed"
        + policy.map(p -> " by " + p.key()).orElse(" (no ALLOW policy)");
  }
}
