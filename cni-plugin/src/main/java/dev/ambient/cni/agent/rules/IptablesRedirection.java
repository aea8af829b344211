package dev.ambient.cni.agent.rules;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The iptables backend: {@code iptables-restore --noflush} (and {@code ip6tables-restore} when the
 * pod has an IPv6 address) run inside the pod's netns with {@code nsenter}, text from
 * {@link IptablesScript}. {@code apply} first compares {@code iptables-save} with the desired rules:
 * identical means nothing to do; Istio leftovers that differ are removed before the new rules go in
 * (without upstream's drop-everything guardrail rules during the swap).
 */
public final class IptablesRedirection implements RedirectionRules {
  private static final Logger log = LoggerFactory.getLogger(IptablesRedirection.class);

  private final String binary;
  private final Function<PodNetns, Commands> commands;

  /** Uses the {@code iptables} / {@code ip6tables} found on the PATH. */
  public IptablesRedirection() {
    this("iptables");
  }

  /**
   * @param binary {@code iptables}, {@code iptables-legacy} or {@code iptables-nft}
   *     ({@code FORCE_IPTABLES_BINARY}); the IPv6 tools are the same names with {@code ip6tables}
   */
  public IptablesRedirection(String binary) {
    if (!binary.matches("iptables(-legacy|-nft)?")) {
      throw new IllegalArgumentException("not an iptables binary: " + binary);
    }
    this.binary = binary;
    this.commands = netns -> Commands.in(netns.path());
  }

  private String tool(Family f, String suffix) {
    return binary.replace("iptables", f.iptables) + suffix;
  }

  @Override
  public void apply(PodNetns netns, PodAddresses addresses, Options options) throws IOException {
    Commands ns = commands.apply(netns);
    for (Family f : addresses.families()) {
      String save = ns.checked(List.of(tool(f, "-save")), "");
      RuleCheck check = IptablesScript.compare(IptablesScript.rules(f, options), save);
      if (!check.isClean()) {
        String removal = IptablesScript.removalScript(save);
        if (!removal.isEmpty()) {
          log.info("{}replacing differing Istio {} rules: missing {}, extra {}", ns.where(), f, check.missing(), check.extra());
          ns.checked(List.of(tool(f, "-restore"), "--noflush"), removal);
        }
        ns.checked(List.of(tool(f, "-restore"), "--noflush"), IptablesScript.restoreScript(f, options));
      }
      PolicyRouting.apply(ns, f);
    }
  }

  @Override
  public void remove(PodNetns netns, PodAddresses addresses) throws IOException {
    Commands ns = commands.apply(netns);
    for (Family f : addresses.families()) {
      String removal = IptablesScript.removalScript(ns.checked(List.of(tool(f, "-save")), ""));
      if (!removal.isEmpty()) {
        ns.checked(List.of(tool(f, "-restore"), "--noflush"), removal);
      }
      PolicyRouting.remove(ns, f);
    }
  }

  @Override
  public RuleCheck check(PodNetns netns, PodAddresses addresses, Options options) throws IOException {
    Commands ns = commands.apply(netns);
    List<String> missing = new ArrayList<>();
    List<String> extra = new ArrayList<>();
    for (Family f : addresses.families()) {
      RuleCheck c = IptablesScript.compare(IptablesScript.rules(f, options), ns.checked(List.of(tool(f, "-save")), ""));
      c.missing().forEach(m -> missing.add(f + " " + m));
      c.extra().forEach(e -> extra.add(f + " " + e));
      PolicyRouting.missing(ns, f).forEach(m -> missing.add(f + " " + m));
    }
    return new RuleCheck(missing, extra);
  }
}
