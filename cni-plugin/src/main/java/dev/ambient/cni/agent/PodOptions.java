package dev.ambient.cni.agent;

import dev.ambient.cni.agent.rules.RedirectionRules;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The per-pod capture options of spec §2.3, applied on top of the agent's defaults: pure.
 * {@code ambient.istio.io/dns-capture} (true/false; anything else is ignored with a warning),
 * {@code ambient.istio.io/bypass-inbound-capture=true} (ingress mode) and
 * {@code istio.io/reroute-virtual-interfaces} (comma list; bad names are dropped with a warning).
 */
final class PodOptions {
  static final String DNS_CAPTURE = "ambient.istio.io/dns-capture";
  static final String BYPASS_INBOUND = "ambient.istio.io/bypass-inbound-capture";
  static final String VIRTUAL_INTERFACES = "istio.io/reroute-virtual-interfaces";
  private static final Logger log = LoggerFactory.getLogger(PodOptions.class);

  private PodOptions() {}

  static RedirectionRules.Options forPod(RedirectionRules.Options defaults, Map<String, String> annotations) {
    RedirectionRules.Options o = defaults;
    String dns = annotations.get(DNS_CAPTURE);
    if (dns != null) {
      switch (dns.strip().toLowerCase(java.util.Locale.ROOT)) {
        case "true" -> o = o.withDnsCapture(true);
        case "false" -> o = o.withDnsCapture(false);
        default -> log.warn("ignoring {}={}: not a boolean", DNS_CAPTURE, dns);
      }
    }
    if ("true".equalsIgnoreCase(annotations.getOrDefault(BYPASS_INBOUND, "").strip())) {
      o = o.withIngressMode(true);
    }
    String ifaces = annotations.get(VIRTUAL_INTERFACES);
    if (ifaces != null) {
      List<String> names = new ArrayList<>();
      for (String s : ifaces.split(",")) {
        String n = s.strip();
        if (n.isEmpty()) {
          continue;
        }
        if (n.matches("[A-Za-z0-9_.@:-]{1,15}")) {
          names.add(n);
        } else {
          log.warn("ignoring {} entry '{}': not an interface name", VIRTUAL_INTERFACES, n);
        }
      }
      o = o.withVirtualInterfaces(names);
    }
    return o;
  }
}
