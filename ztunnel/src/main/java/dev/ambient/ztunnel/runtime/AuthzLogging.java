package dev.ambient.ztunnel.runtime;

import dev.ambient.xds.client.Workload;
import dev.ambient.ztunnel.authz.AuthorizationObserver;
import dev.ambient.ztunnel.authz.Connection;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.event.Level;

/**
 * Logs what the authorizer reports besides its decisions: dry-run outcomes and unknown policy names,
 * at DEBUG, or INFO with {@code AUTHZ_POLICY_INFO_LOGGING=true} (spec §9.3).
 */
final class AuthzLogging implements AuthorizationObserver {
  private static final Logger log = LoggerFactory.getLogger("authorization");
  private final Level level;

  AuthzLogging(boolean info) {
    this.level = info ? Level.INFO : Level.DEBUG;
  }

  @Override
  public void onDryRun(Connection connection, Workload destination, DryRun outcome) {
    if (log.isEnabledForLevel(level)) {
      String what = switch (outcome) {
        case DryRun.DenyMatched d -> "dry-run DENY policy " + d.policy().key() + " matched: enforcing it would deny";
        case DryRun.AllowMatched a -> "dry-run ALLOW policy " + a.policy().key() + " matched";
        case DryRun.NoAllowMatched n -> "no dry-run ALLOW policy matched: enforcing them would deny";
      };
      log.atLevel(level).log("{} ({} -> {}/{})", what, connection, destination.namespace(), destination.name());
    }
  }

  @Override
  public void onUnknownPolicy(Workload destination, String policyName) {
    log.atLevel(level).log("workload {}/{} lists unknown policy {}", destination.namespace(), destination.name(),
        policyName);
  }
}
