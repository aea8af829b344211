package dev.ambient.ztunnel.authz;

import static java.util.Objects.requireNonNull;

import dev.ambient.xds.client.Authorization;
import java.util.Optional;

/**
 * The outcome of {@link Authorizer#authorize}: a closed set, dispatch with {@code switch}.
 *
 * <p>Only {@link Allow} carries an {@link AuthorizedConnection}, the proof a relay must ask for;
 * since only the authorizer can build one, an {@code Allow} cannot be forged either.
 */
public sealed interface Decision permits Decision.Allow, Decision.Deny {

  /** The connection may proceed. */
  record Allow(AuthorizedConnection connection) implements Decision {
    public Allow {
      requireNonNull(connection, "connection");
    }

    /** The enforced ALLOW policy that matched; empty when the destination has no ALLOW policy. */
    public Optional<Authorization> policy() {
      return connection.policy();
    }
  }

  /**
   * The connection must be refused (HBONE: 401; plaintext: close), logged with flag {@code DENY}.
   *
   * @param policy {@code namespace/name} of the DENY policy that matched; empty for {@link
   *     Reason#NO_ALLOW_MATCHED}
   */
  record Deny(Reason reason, Optional<String> policy) implements Decision {
    /** The access-log flag of a denied or policy-closed connection. */
    public static final String FLAG = "DENY";

    public Deny {
      requireNonNull(reason, "reason");
      requireNonNull(policy, "policy");
      if (policy.isPresent() != (reason == Reason.EXPLICITLY_DENIED)) {
        throw new IllegalArgumentException(reason + " with policy " + policy);
      }
    }

    static Deny explicitlyDeniedBy(String policyKey) {
      return new Deny(Reason.EXPLICITLY_DENIED, Optional.of(policyKey));
    }

    /** The log message, ztunnel's wording. */
    public String message() {
      return switch (reason) {
        case EXPLICITLY_DENIED -> "explicitly denied by: " + policy.orElseThrow();
        case NO_ALLOW_MATCHED -> "allow policies exist, but none allowed";
      };
    }
  }

  /** Why a connection was denied. */
  enum Reason {
    /** An enforced DENY policy matched. */
    EXPLICITLY_DENIED,
    /** Enforced ALLOW policies exist but none matched. */
    NO_ALLOW_MATCHED
  }
}
