package dev.ambient.cni.agent.rules;

import java.util.List;

/**
 * What {@link RedirectionRules#check} found: rules (or routing entries) that should be there and are
 * not, and Istio-owned ones that are there and should not be. Both empty means the pod is exactly as
 * {@code apply} leaves it. Entries read like {@code "nat ISTIO_OUTPUT: -A ... "} or
 * {@code "ip -4 rule: ..."}.
 */
public record RuleCheck(List<String> missing, List<String> extra) {
  public RuleCheck {
    missing = List.copyOf(missing);
    extra = List.copyOf(extra);
  }

  public boolean isClean() {
    return missing.isEmpty() && extra.isEmpty();
  }
}
