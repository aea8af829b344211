package dev.ambient.cni.agent.rules;

import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Path;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * The node-side probe SNAT of spec istio-ambient.md §2.8: {@link #apply} installs the sets and the
 * SNAT rule once per node; {@link #addPod} / {@link #removePod} maintain each pod's entries (added
 * last when enrolling, removed first when un-enrolling); {@link #remove} deletes everything (full
 * uninstall, not an upgrade).
 *
 * <p>Two backends: {@link #iptables} (ipset {@code hash:ip comment} sets, nat {@code ISTIO_POSTRT}
 * with {@code -m owner --socket-exists}, needs the {@code ipset} tool) and {@link #nftables}
 * (table {@code inet istio-ambient-nat} with its own sets, {@code meta skuid <kubelet uid>}).
 * Commands run in {@code hostNetns} via {@code nsenter} ({@code /host/proc/1/ns/net} with
 * {@code ALLOW_SWITCH_TO_HOST_NS}) or, when it is null, in this process's own namespace.
 */
public final class HostRules {
  private enum Backend { IPTABLES, NFTABLES }

  private final Backend backend;
  private final Commands commands;
  private final RedirectionRules.Options options;
  private final int kubeletUid;

  private HostRules(Backend backend, @Nullable Path hostNetns, RedirectionRules.Options options, int kubeletUid) {
    this.backend = backend;
    this.commands = hostNetns == null ? Commands.here() : Commands.in(hostNetns);
    this.options = options;
    this.kubeletUid = kubeletUid;
  }

  public static HostRules iptables(@Nullable Path hostNetns, RedirectionRules.Options options) {
    return new HostRules(Backend.IPTABLES, hostNetns, options, -1);
  }

  /** @param kubeletUid the uid the kubelet runs as (found by scanning /proc for kubelet, kubelite or k3s) */
  public static HostRules nftables(@Nullable Path hostNetns, RedirectionRules.Options options, int kubeletUid) {
    if (kubeletUid < 0) {
      throw new IllegalArgumentException("kubelet uid must be >= 0: " + kubeletUid);
    }
    return new HostRules(Backend.NFTABLES, hostNetns, options, kubeletUid);
  }

  /** Installs the sets and the SNAT rules; existing set entries are kept. Idempotent. */
  public void apply() throws IOException {
    if (backend == Backend.NFTABLES) {
      commands.checked(List.of("nft", "-f", "-"), HostRuleScript.nftApply(options, kubeletUid));
      return;
    }
    for (List<String> create : HostRuleScript.ipsetCreate()) {
      commands.checked(create, "");
    }
    for (Family f : Family.values()) {
      String save = commands.checked(List.of(f.iptables + "-save", "-t", "nat"), "");
      if (!save.contains(":" + HostRuleScript.CHAIN + " ")) {
        commands.checked(List.of(f.iptables + "-restore", "--noflush"), HostRuleScript.iptablesScript(f, options));
      }
    }
  }

  /** Deletes the rules and the sets; absent pieces are fine. */
  public void remove() throws IOException {
    if (backend == Backend.NFTABLES) {
      commands.checked(List.of("nft", "-f", "-"), HostRuleScript.nftRemove());
      return;
    }
    for (Family f : Family.values()) {
      String t = f.iptables;
      for (int i = 0; i < 8 && commands.run(List.of(t, "-t", "nat", "-D", "POSTROUTING", "-j", HostRuleScript.CHAIN), "").ok(); i++) {
        // delete every copy of the jump (bounded)
      }
      commands.run(List.of(t, "-t", "nat", "-F", HostRuleScript.CHAIN), "");
      commands.run(List.of(t, "-t", "nat", "-X", HostRuleScript.CHAIN), "");
    }
    commands.run(List.of("ipset", "destroy", HostRuleScript.SET_V4), "");
    commands.run(List.of("ipset", "destroy", HostRuleScript.SET_V6), "");
  }

  /** Adds the pod's IPs to the probe sets, commented with its uid (replacing an older entry). */
  public void addPod(String uid, PodAddresses addresses) throws IOException {
    HostRuleScript.checkUid(uid);
    if (backend == Backend.NFTABLES) {
      if (addresses.addresses().isEmpty()) {
        return;
      }
      // Deleting first lets a reused IP take the new pod's uid.
      for (InetAddress ip : addresses.addresses()) {
        commands.run(List.of("nft", "delete", "element", "inet", HostRuleScript.NFT_TABLE, HostRuleScript.setName(ip),
            "{ " + ip.getHostAddress() + " }"), "");
      }
      commands.checked(List.of("nft", "-f", "-"), HostRuleScript.nftAddElements(uid, addresses.addresses()));
      return;
    }
    for (InetAddress ip : addresses.addresses()) {
      commands.run(List.of("ipset", "del", HostRuleScript.setName(ip), ip.getHostAddress()), "");
      commands.checked(List.of("ipset", "add", HostRuleScript.setName(ip), ip.getHostAddress(), "comment", uid), "");
    }
  }

  /** Removes the set entries of {@code uid} only (entries now owned by another pod stay). */
  public void removePod(String uid, PodAddresses addresses) throws IOException {
    HostRuleScript.checkUid(uid);
    for (InetAddress ip : addresses.addresses()) {
      String set = HostRuleScript.setName(ip);
      List<HostRuleScript.Entry> entries = backend == Backend.NFTABLES
          ? HostRuleScript.nftEntries(commands.checked(List.of("nft", "list", "set", "inet", HostRuleScript.NFT_TABLE, set), ""))
          : HostRuleScript.ipsetEntries(commands.checked(List.of("ipset", "list", set), ""));
      for (String owned : HostRuleScript.ownedBy(uid, entries)) {
        if (!sameAddress(owned, ip)) {
          continue;
        }
        if (backend == Backend.NFTABLES) {
          commands.checked(List.of("nft", "delete", "element", "inet", HostRuleScript.NFT_TABLE, set, "{ " + owned + " }"), "");
        } else {
          commands.checked(List.of("ipset", "del", set, owned), "");
        }
      }
    }
  }

  private static boolean sameAddress(String literal, InetAddress ip) {
    try {
      return InetAddress.getByName(literal).equals(ip);
    } catch (IOException e) {
      return false;
    }
  }
}
