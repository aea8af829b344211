package dev.ambient.xds.client;

import com.google.protobuf.ByteString;
import dev.ambient.xds.api.security.Action;
import dev.ambient.xds.api.security.Authorization;
import dev.ambient.xds.api.security.Clause;
import dev.ambient.xds.api.security.Match;
import dev.ambient.xds.api.security.Rule;
import dev.ambient.xds.api.security.Scope;
import dev.ambient.xds.api.security.StringMatch;
import dev.ambient.xds.api.workload.Address;
import dev.ambient.xds.api.workload.GatewayAddress;
import dev.ambient.xds.api.workload.NamespacedHostname;
import dev.ambient.xds.api.workload.NetworkAddress;
import dev.ambient.xds.api.workload.Port;
import dev.ambient.xds.api.workload.PortList;
import dev.ambient.xds.api.workload.Service;
import dev.ambient.xds.api.workload.TunnelProtocol;
import dev.ambient.xds.api.workload.Workload;

/** Proto builders shared by the tests. */
final class Fixtures {
  private Fixtures() {}

  static ByteString ip(int... octets) {
    byte[] b = new byte[octets.length];
    for (int i = 0; i < octets.length; i++) {
      b[i] = (byte) octets[i];
    }
    return ByteString.copyFrom(b);
  }

  static Workload.Builder workload(String name) {
    return Workload.newBuilder()
        .setUid("Kubernetes//Pod/ns/" + name)
        .setName(name)
        .setNamespace("ns")
        .addAddresses(ip(198, 18, 0, 5))
        .setTunnelProtocol(TunnelProtocol.HBONE)
        .putServices("ns/svc.ns.svc.cluster.local", PortList.newBuilder()
            .addPorts(Port.newBuilder().setServicePort(80).setTargetPort(8080)).build());
  }

  static Service.Builder service(String name) {
    return Service.newBuilder()
        .setName(name)
        .setNamespace("ns")
        .setHostname(name + ".ns.svc.cluster.local")
        .addAddresses(NetworkAddress.newBuilder().setAddress(ip(198, 19, 96, 1)))
        .addPorts(Port.newBuilder().setServicePort(80).setTargetPort(8080))
        .setWaypoint(GatewayAddress.newBuilder()
            .setHostname(NamespacedHostname.newBuilder().setNamespace("ns").setHostname("wp.ns.svc.cluster.local"))
            .setHboneMtlsPort(15008));
  }

  static Address address(Workload.Builder w) {
    return Address.newBuilder().setWorkload(w).build();
  }

  static Address address(Service.Builder s) {
    return Address.newBuilder().setService(s).build();
  }

  static Authorization.Builder policy(String name) {
    return Authorization.newBuilder()
        .setName(name)
        .setNamespace("ns")
        .setScope(Scope.NAMESPACE)
        .setAction(Action.DENY)
        .addRules(Rule.newBuilder().addClauses(Clause.newBuilder().addMatches(Match.newBuilder()
            .addNotPrincipals(StringMatch.newBuilder().setPresence(com.google.protobuf.Empty.getDefaultInstance()))
            .addDestinationPorts(8080)
            .addSourceIps(dev.ambient.xds.api.security.Address.newBuilder().setAddress(ip(198, 18, 0, 0)).setLength(15)))));
  }
}
