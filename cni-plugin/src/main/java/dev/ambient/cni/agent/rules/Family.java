package dev.ambient.cni.agent.rules;

/** IPv4 or IPv6: the loopback host route, the tool names and the {@code ip} flag that differ. */
enum Family {
  V4("127.0.0.1/32", "0.0.0.0/0", "-4", "iptables"),
  V6("::1/128", "::/0", "-6", "ip6tables");

  final String loopback;
  final String anyRoute;
  final String ipFlag;
  final String iptables;

  Family(String loopback, String anyRoute, String ipFlag, String iptables) {
    this.loopback = loopback;
    this.anyRoute = anyRoute;
    this.ipFlag = ipFlag;
    this.iptables = iptables;
  }

  /** The SNAT source the node uses for kubelet probes in this family. */
  String probeSnat(RedirectionRules.Options options) {
    return this == V4 ? options.probeSnatV4().getHostAddress() : options.probeSnatV6().getHostAddress();
  }

  /** The probe SNAT address with its host prefix, as {@code iptables-save} prints it. */
  String probeSnatHost(RedirectionRules.Options options) {
    return probeSnat(options) + (this == V4 ? "/32" : "/128");
  }
}
