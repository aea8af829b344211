package dev.ambient.ztunnel.authz;

import static java.util.Objects.requireNonNull;

import dev.ambient.xds.client.Authorization;
import dev.ambient.xds.client.Workload;

/**
 * What the authorizer reports besides its decision: dry-run outcomes (spec §6.3 steps 2 and 4)
 * and policy names a workload lists that are not known (yet) (§6.2). Keeping these out of {@link
 * Authorizer} keeps the decision a pure function; the caller decides whether to log or count.
 *
 * <p>Called synchronously on the thread running {@link Authorizer#authorize}; keep it cheap and
 * non-blocking. Exceptions it throws propagate out of {@code authorize}.
 */
public interface AuthorizationObserver {
  /** Reports nothing. */
  AuthorizationObserver NONE = new AuthorizationObserver() {};

  /** A dry-run policy was evaluated for {@code connection}; never changes the decision. */
  default void onDryRun(Connection connection, Workload destination, DryRun outcome) {}

  /** {@code destination} lists a policy name the index does not hold; it was skipped. */
  default void onUnknownPolicy(Workload destination, String policyName) {}

  /** What a dry-run policy would have done. */
  sealed interface DryRun permits DryRun.DenyMatched, DryRun.AllowMatched, DryRun.NoAllowMatched {
    /** A dry-run DENY policy matched: enforcing it would deny. */
    record DenyMatched(Authorization policy) implements DryRun {
      public DenyMatched {
        requireNonNull(policy, "policy");
      }
    }

    /** A dry-run ALLOW policy matched. */
    record AllowMatched(Authorization policy) implements DryRun {
      public AllowMatched {
        requireNonNull(policy, "policy");
      }
    }

    /**
     * There is no enforced ALLOW policy and none of the dry-run ALLOW policies matched: enforcing
     * them would deny.
     */
    record NoAllowMatched() implements DryRun {}
  }
}
