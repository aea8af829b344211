package dev.ambient.cni.agent.rules;

import java.io.IOException;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.List;

/**
 * The in-pod redirection of spec istio-ambient.md §2.7: outbound TCP to ztunnel's 15001, inbound
 * TCP (except HBONE on 15008) to 15006, optional DNS to 15053, ztunnel's own sockets (mark
 * {@code 0x539}) exempt, the {@code 0x111} connmark and {@code fwmark 0x111/0xfff lookup 100} with
 * {@code local 0.0.0.0/0 dev lo table 100} for replies to spoofed connections, and the kubelet probe
 * source {@code 169.254.7.127} accepted untouched.
 *
 * <p>Two implementations: {@link IptablesRedirection} (the upstream default) and
 * {@link NftablesRedirection} ({@code NATIVE_NFTABLES}). All three methods are idempotent and touch
 * only Istio-owned objects; {@code remove} leaves the namespace as it was before {@code apply}.
 */
public interface RedirectionRules {
  /** Installs the rules; a pod that already has exactly these rules is left alone. */
  void apply(PodNetns netns, PodAddresses addresses, Options options) throws IOException;

  /** Removes every Istio-owned rule and the table-100 routing; missing pieces are not an error. */
  void remove(PodNetns netns, PodAddresses addresses) throws IOException;

  /** Compares the namespace's current state with what {@link #apply} would install. */
  RuleCheck check(PodNetns netns, PodAddresses addresses, Options options) throws IOException;

  /**
   * What to install.
   *
   * @param dnsCapture redirect DNS (UDP and TCP 53) to ztunnel's 15053 and add the raw-table
   *     conntrack-zone rules; OFF by default until ztunnel has a DNS proxy
   * @param ingressMode the pod is an ingress gateway: no inbound redirect and no probe exemption
   * @param virtualInterfaces interfaces whose inbound TCP is treated as outbound (redirected to 15001)
   * @param probeSnatV4 {@code HOST_PROBE_SNAT_IP}
   * @param probeSnatV6 {@code HOST_PROBE_SNAT_IPV6}
   */
  record Options(boolean dnsCapture, boolean ingressMode, List<String> virtualInterfaces,
                 Inet4Address probeSnatV4, Inet6Address probeSnatV6) {
    public static final String DEFAULT_PROBE_SNAT_V4 = "169.254.7.127";
    public static final String DEFAULT_PROBE_SNAT_V6 = "fd16:9254:7127:1337:ffff:ffff:ffff:ffff";

    public Options {
      virtualInterfaces = List.copyOf(virtualInterfaces);
      for (String iface : virtualInterfaces) {
        if (!iface.matches("[A-Za-z0-9_.@:-]{1,15}")) {
          throw new IllegalArgumentException("not an interface name: '" + iface + "'");
        }
      }
    }

    /** DNS capture off, not ingress, no virtual interfaces, the upstream probe SNAT addresses. */
    public static Options defaults() {
      return new Options(false, false, List.of(),
          (Inet4Address) literal(DEFAULT_PROBE_SNAT_V4), (Inet6Address) literal(DEFAULT_PROBE_SNAT_V6));
    }

    public Options withDnsCapture(boolean on) {
      return new Options(on, ingressMode, virtualInterfaces, probeSnatV4, probeSnatV6);
    }

    public Options withIngressMode(boolean on) {
      return new Options(dnsCapture, on, virtualInterfaces, probeSnatV4, probeSnatV6);
    }

    public Options withVirtualInterfaces(List<String> interfaces) {
      return new Options(dnsCapture, ingressMode, interfaces, probeSnatV4, probeSnatV6);
    }

    private static InetAddress literal(String ip) {
      try {
        return InetAddress.getByName(ip);
      } catch (UnknownHostException e) {
        throw new IllegalStateException(e);
      }
    }
  }
}
