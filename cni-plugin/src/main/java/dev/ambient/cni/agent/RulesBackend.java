package dev.ambient.cni.agent;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;

/**
 * Which rule backend the agent uses (spec §2.6), as a pure decision over probed facts.
 *
 * <ul>
 *   <li>{@code iptables}: upstream's default; needs {@code iptables-restore} and, for the host probe
 *       sets, {@code ipset}.
 *   <li>{@code nftables} ({@code NATIVE_NFTABLES=true}): native nft, falling back to iptables as
 *       upstream does when Istio's iptables ipsets already exist on the node (moving needs a reboot)
 *       or when {@code nft} lacks JSON support.
 *   <li>{@code auto} (ours): keep what the node already has (Istio ipsets: iptables; Istio's
 *       {@code inet istio-ambient-nat} table: nftables); otherwise iptables when its tools are all
 *       present, else nftables when {@code nft} works.
 * </ul>
 */
public final class RulesBackend {
  public enum Kind { IPTABLES, NFTABLES, AUTO }

  /** What the node has. */
  public record Facts(boolean iptables, boolean ipset, boolean nftJson, boolean istioIpsets, boolean istioNftTable) {}

  /** The backend to use and why; {@code error} non-null means neither works. */
  public record Choice(Kind kind, String reason, @Nullable String error) {}

  private RulesBackend() {}

  public static Choice choose(Kind requested, Facts f) {
    return switch (requested) {
      case IPTABLES -> iptablesOrError("requested", f);
      case NFTABLES -> {
        if (f.istioIpsets()) {
          yield iptablesOrError("nftables requested, but Istio's iptables ipsets exist on the node (reboot to migrate)", f);
        }
        if (!f.nftJson()) {
          yield iptablesOrError("nftables requested, but nft has no JSON support", f);
        }
        yield new Choice(Kind.NFTABLES, "requested", null);
      }
      case AUTO -> {
        if (f.istioIpsets()) {
          yield iptablesOrError("auto: Istio's ipsets exist on the node", f);
        }
        if (f.istioNftTable() && f.nftJson()) {
          yield new Choice(Kind.NFTABLES, "auto: Istio's nftables table exists on the node", null);
        }
        if (f.iptables() && f.ipset()) {
          yield new Choice(Kind.IPTABLES, "auto: iptables and ipset present (upstream default)", null);
        }
        if (f.nftJson()) {
          yield new Choice(Kind.NFTABLES, "auto: " + (f.iptables() ? "no ipset tool" : "no iptables") + ", nft works", null);
        }
        yield new Choice(Kind.AUTO, "auto", "neither iptables-restore with ipset nor nft (with JSON) is usable");
      }
    };
  }

  private static Choice iptablesOrError(String reason, Facts f) {
    if (!f.iptables()) {
      return new Choice(Kind.IPTABLES, reason, "iptables-restore is not usable");
    }
    if (!f.ipset()) {
      return new Choice(Kind.IPTABLES, reason, "the ipset tool (host probe sets) is not usable");
    }
    return new Choice(Kind.IPTABLES, reason, null);
  }

  /** Probes the tools, in {@code hostNetns} when given (the node's netns), else here. */
  public static Facts probe(@Nullable Path hostNetns) {
    boolean iptables = ok(hostNetns, "iptables-restore", "--version");
    boolean ipset = ok(hostNetns, "ipset", "version");
    boolean nftJson = ok(hostNetns, "nft", "-j", "list", "tables");
    boolean istioIpsets = ipset && output(hostNetns, "ipset", "list", "-n").contains("istio-inpod-probes");
    boolean istioTable = nftJson && output(hostNetns, "nft", "list", "tables").contains("istio-ambient-nat");
    return new Facts(iptables, ipset, nftJson, istioIpsets, istioTable);
  }

  private static boolean ok(@Nullable Path netns, String... argv) {
    return run(netns, argv) != null;
  }

  private static String output(@Nullable Path netns, String... argv) {
    String out = run(netns, argv);
    return out == null ? "" : out;
  }

  private static @Nullable String run(@Nullable Path netns, String... argv) {
    List<String> cmd = new ArrayList<>();
    if (netns != null) {
      cmd.add("nsenter");
      cmd.add("--net=" + netns);
    }
    cmd.addAll(List.of(argv));
    try {
      Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
      p.getOutputStream().close();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (!p.waitFor(10, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        return null;
      }
      return p.exitValue() == 0 ? out : null;
    } catch (IOException e) {
      return null;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return null;
    }
  }
}
