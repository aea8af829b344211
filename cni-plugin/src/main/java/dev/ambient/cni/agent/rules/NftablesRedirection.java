package dev.ambient.cni.agent.rules;

import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The native nftables backend ({@code NATIVE_NFTABLES=true}): one atomic {@code nft -f -}
 * transaction inside the pod's netns (via {@code nsenter}) from {@link NftScript}, plus the same
 * table-100 policy routing as the iptables backend. Removal deletes the Istio tables only.
 */
public final class NftablesRedirection implements RedirectionRules {
  @Override
  public void apply(PodNetns netns, PodAddresses addresses, Options options) throws IOException {
    Commands ns = Commands.in(netns.path());
    if (!NftScript.compare(NftScript.chains(addresses, options), listings(ns)).isClean()) {
      ns.checked(List.of("nft", "-f", "-"), NftScript.applyScript(addresses, options));
    }
    for (Family f : addresses.families()) {
      PolicyRouting.apply(ns, f);
    }
  }

  @Override
  public void remove(PodNetns netns, PodAddresses addresses) throws IOException {
    Commands ns = Commands.in(netns.path());
    ns.checked(List.of("nft", "-f", "-"), NftScript.removalScript());
    for (Family f : addresses.families()) {
      PolicyRouting.remove(ns, f);
    }
  }

  @Override
  public RuleCheck check(PodNetns netns, PodAddresses addresses, Options options) throws IOException {
    Commands ns = Commands.in(netns.path());
    RuleCheck rules = NftScript.compare(NftScript.chains(addresses, options), listings(ns));
    List<String> missing = new ArrayList<>(rules.missing());
    for (Family f : addresses.families()) {
      PolicyRouting.missing(ns, f).forEach(m -> missing.add(f + " " + m));
    }
    return new RuleCheck(missing, rules.extra());
  }

  private static Map<String, String> listings(Commands ns) throws IOException {
    String tables = ns.checked(List.of("nft", "list", "tables"), "");
    Map<String, String> listings = new LinkedHashMap<>();
    for (String t : NftScript.TABLES) {
      if (tables.lines().anyMatch(l -> l.strip().equals("table inet " + t))) {
        listings.put(t, ns.checked(List.of("nft", "list", "table", "inet", t), ""));
      }
    }
    return listings;
  }
}
