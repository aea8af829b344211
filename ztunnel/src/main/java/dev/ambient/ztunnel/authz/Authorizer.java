package dev.ambient.ztunnel.authz;

import static java.util.Objects.requireNonNull;

import dev.ambient.identity.SpiffeId;
import dev.ambient.xds.client.Authorization;
import dev.ambient.xds.client.Workload;
import java.util.List;
import java.util.Optional;
import org.jspecify.annotations.Nullable;

/**
 * Decides whether an inbound connection may reach its destination workload (spec §6). Enforced
 * only on the receiving side: inbound HBONE after port resolution and inbound plaintext.
 *
 * <p>{@link #authorize} is a pure function of (connection, destination snapshot, policy index):
 * it performs no I/O and logs nothing; dry-run outcomes and unknown policy names go to the {@link
 * AuthorizationObserver}. The algorithm (§6.3):
 *
 * <ol>
 *   <li>Every DENY policy is evaluated; dry-run ones that match are only reported.
 *   <li>An enforced DENY that matches ⇒ {@link Decision.Reason#EXPLICITLY_DENIED}.
 *   <li>Dry-run ALLOWs that match are reported; with no enforced ALLOW and dry-run ALLOWs of
 *       which none matches, {@link AuthorizationObserver.DryRun.NoAllowMatched} is reported.
 *   <li>No enforced ALLOW policy ⇒ allow.
 *   <li>An enforced ALLOW matches ⇒ allow; otherwise {@link Decision.Reason#NO_ALLOW_MATCHED}.
 * </ol>
 *
 * <p>Allocation: a deny allocates nothing; an allow allocates the {@link AuthorizedConnection} and
 * its {@link Decision.Allow}. Address bytes and the principal string are computed only when a
 * selected policy has IP or principal fields; a workload naming its own policies costs one list.
 *
 * <p>Thread-safe: stateless apart from the observer.
 */
public final class Authorizer {
  private final AuthorizationObserver observer;

  private Authorizer(AuthorizationObserver observer) {
    this.observer = observer;
  }

  /** An authorizer that reports nothing. */
  public static Authorizer create() {
    return new Authorizer(AuthorizationObserver.NONE);
  }

  /** An authorizer reporting dry-run outcomes and unknown policies to {@code observer}. */
  public static Authorizer create(AuthorizationObserver observer) {
    return new Authorizer(requireNonNull(observer, "observer"));
  }

  /**
   * Authorizes {@code connection} to {@code destination} under {@code policies}.
   *
   * @param destination the destination workload as captured when the connection was accepted
   */
  public Decision authorize(Connection connection, Workload destination, PolicyIndex policies) {
    requireNonNull(connection, "connection");
    requireNonNull(destination, "destination");
    requireNonNull(policies, "policies");
    List<CompiledPolicy> selected = policies.compiledFor(destination, observer);
    if (selected.isEmpty()) {
      return allow(connection, destination, Optional.empty(), policies);
    }

    boolean needSrc = false;
    boolean needDst = false;
    boolean needPrincipal = false;
    for (int i = 0; i < selected.size(); i++) {
      CompiledPolicy p = selected.get(i);
      needSrc |= p.usesSourceIp;
      needDst |= p.usesDestinationIp;
      needPrincipal |= p.usesPrincipal;
    }
    byte @Nullable [] src = needSrc ? connection.srcIp().getAddress() : null;
    byte @Nullable [] dst = needDst ? connection.dstIp().getAddress() : null;
    @Nullable String principal = needPrincipal ? principal(connection.srcIdentity()) : null;

    // DENY first; every dry-run DENY is evaluated and reported even when an enforced one matched.
    Decision.@Nullable Deny denied = null;
    for (int i = 0; i < selected.size(); i++) {
      CompiledPolicy p = selected.get(i);
      if (p.isAllow() || (denied != null && !p.dryRun()) || !p.matches(connection, src, dst, principal)) {
        continue;
      }
      if (p.dryRun()) {
        observer.onDryRun(connection, destination, new AuthorizationObserver.DryRun.DenyMatched(p.policy));
      } else {
        denied = requireNonNull(p.deny);
      }
    }
    if (denied != null) {
      return denied;
    }

    boolean enforcedAllowExists = false;
    boolean dryRunAllowExists = false;
    boolean dryRunAllowMatched = false;
    @Nullable CompiledPolicy allowedBy = null;
    for (int i = 0; i < selected.size(); i++) {
      CompiledPolicy p = selected.get(i);
      if (!p.isAllow()) {
        continue;
      }
      if (p.dryRun()) {
        dryRunAllowExists = true;
        if (p.matches(connection, src, dst, principal)) {
          dryRunAllowMatched = true;
          observer.onDryRun(connection, destination, new AuthorizationObserver.DryRun.AllowMatched(p.policy));
        }
      } else {
        enforcedAllowExists = true;
        if (allowedBy == null && p.matches(connection, src, dst, principal)) {
          allowedBy = p;
        }
      }
    }
    if (!enforcedAllowExists) {
      if (dryRunAllowExists && !dryRunAllowMatched) {
        observer.onDryRun(connection, destination, new AuthorizationObserver.DryRun.NoAllowMatched());
      }
      return allow(connection, destination, Optional.empty(), policies);
    }
    return allowedBy != null
        ? allow(connection, destination, allowedBy.asOptional, policies)
        : NO_ALLOW_MATCHED;
  }

  private static final Decision.Deny NO_ALLOW_MATCHED =
      new Decision.Deny(Decision.Reason.NO_ALLOW_MATCHED, Optional.empty());

  private static Decision.Allow allow(
      Connection connection, Workload destination, Optional<Authorization> policy, PolicyIndex policies) {
    return new Decision.Allow(new AuthorizedConnection(connection, destination, policy, policies));
  }

  /** {@code td/ns/x/sa/y}: the SPIFFE id without {@code spiffe://}, the form principals match. */
  static @Nullable String principal(Optional<SpiffeId> identity) {
    if (identity.isEmpty()) {
      return null;
    }
    SpiffeId id = identity.get();
    return id.trustDomain() + "/ns/" + id.namespace() + "/sa/" + id.serviceAccount();
  }
}
