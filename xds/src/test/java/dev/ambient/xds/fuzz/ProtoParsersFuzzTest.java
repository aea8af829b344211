package dev.ambient.xds.fuzz;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.UInt32Value;
import dev.ambient.xds.api.security.Clause;
import dev.ambient.xds.api.security.Match;
import dev.ambient.xds.api.security.Rule;
import dev.ambient.xds.api.security.ServiceAccountMatch;
import dev.ambient.xds.api.security.StringMatch;
import dev.ambient.xds.api.workload.Address;
import dev.ambient.xds.api.workload.ApplicationTunnel;
import dev.ambient.xds.api.workload.GatewayAddress;
import dev.ambient.xds.api.workload.LoadBalancing;
import dev.ambient.xds.api.workload.Locality;
import dev.ambient.xds.api.workload.NamespacedHostname;
import dev.ambient.xds.api.workload.NetworkAddress;
import dev.ambient.xds.api.workload.Port;
import dev.ambient.xds.api.workload.PortList;
import dev.ambient.xds.api.workload.Service;
import dev.ambient.xds.api.workload.WeightedWaypoint;
import dev.ambient.xds.api.workload.Workload;
import dev.ambient.xds.client.AddressParser;
import dev.ambient.xds.client.AddressResource;
import dev.ambient.xds.client.Authorization;
import dev.ambient.xds.client.AuthorizationParser;
import dev.ambient.xds.client.ResourceInvalidException;

/**
 * Fuzz targets for the proto-to-record conversion (spec §1.1, §1.2): whatever arrives on the wire, the parsers
 * return a record or throw {@link ResourceInvalidException} / {@link InvalidProtocolBufferException}; any other
 * throwable is a finding.
 *
 * <p>A normal test run replays the seeds under {@code src/test/resources/dev/ambient/xds/fuzz/ProtoParsersFuzzTestInputs/}
 * (Jazzer's regression mode); {@code JAZZER_FUZZ=1} fuzzes one target for real (see docs/operations.md, "Fuzzing").
 */
class ProtoParsersFuzzTest {

  /** Raw bytes as an {@code istio.workload.Address}. */
  @FuzzTest(maxDuration = "2m")
  void addressBytes(byte[] data) {
    ByteString bytes = ByteString.copyFrom(data);
    try {
      AddressResource r = AddressParser.parse(bytes);
      assertThat(r).isNotNull();
      assertThat(r.key()).isNotNull();
    } catch (ResourceInvalidException e) {
      assertThat(e.getMessage()).isNotBlank();
    } catch (InvalidProtocolBufferException e) {
      // not a valid encoding: the client NACKs it
    }
  }

  /** Raw bytes as an {@code istio.security.Authorization}. */
  @FuzzTest(maxDuration = "2m")
  void authorizationBytes(byte[] data) {
    ByteString bytes = ByteString.copyFrom(data);
    try {
      Authorization r = AuthorizationParser.parse(bytes);
      assertThat(r).isNotNull();
      assertThat(r.key()).isNotNull();
    } catch (ResourceInvalidException e) {
      assertThat(e.getMessage()).isNotBlank();
    } catch (InvalidProtocolBufferException e) {
      // not a valid encoding
    }
  }

  /**
   * A random but well-formed {@code Address} (odd IP lengths, any enum number, missing oneofs, odd strings):
   * only a record or {@link ResourceInvalidException}, and decoding its encoding gives the same outcome.
   */
  @FuzzTest(maxDuration = "2m")
  void structuredAddress(FuzzedDataProvider data) throws InvalidProtocolBufferException {
    Address proto = address(data);
    Object direct = outcome(() -> AddressParser.parse(proto));
    Object viaWire = outcome(() -> AddressParser.parse(proto.toByteString()));
    assertThat(viaWire).isEqualTo(direct);
    if (direct instanceof AddressResource r) {
      assertThat(r.key()).isNotNull();
      switch (r) {
        case dev.ambient.xds.client.Workload w -> {
          assertThat(proto.hasWorkload()).isTrue();
          assertThat(w.addresses()).hasSize(proto.getWorkload().getAddressesCount());
          assertThat(w.uid()).isEqualTo(proto.getWorkload().getUid());
          assertThat(w.capacity()).isNotNegative();
        }
        case dev.ambient.xds.client.Service s -> {
          assertThat(proto.hasService()).isTrue();
          assertThat(s.addresses()).hasSize(proto.getService().getAddressesCount());
          assertThat(s.ports()).hasSize(proto.getService().getPortsCount());
        }
      }
    } else {
      assertThat(direct).isInstanceOf(String.class); // the rejection reason
      assertThat((String) direct).isNotBlank();
    }
  }

  /** A random but well-formed {@code Authorization}: only a record or {@link ResourceInvalidException}. */
  @FuzzTest(maxDuration = "2m")
  void structuredAuthorization(FuzzedDataProvider data) throws InvalidProtocolBufferException {
    dev.ambient.xds.api.security.Authorization proto = authorization(data);
    Object direct = outcome(() -> AuthorizationParser.parse(proto));
    Object viaWire = outcome(() -> AuthorizationParser.parse(proto.toByteString()));
    assertThat(viaWire).isEqualTo(direct);
    if (direct instanceof Authorization a) {
      assertThat(a.rules()).hasSize(proto.getRulesCount());
      assertThat(a.name()).isEqualTo(proto.getName());
      for (int i = 0; i < a.rules().size(); i++) {
        assertThat(a.rules().get(i).clauses()).hasSize(proto.getRules(i).getClausesCount());
      }
    } else {
      assertThat(direct).isInstanceOf(String.class);
      assertThat((String) direct).isNotBlank();
    }
  }

  // --- outcome: the record, or the rejection reason (ResourceInvalidException); anything else propagates.

  private interface Parse {
    Object run() throws ResourceInvalidException, InvalidProtocolBufferException;
  }

  private static Object outcome(Parse p) throws InvalidProtocolBufferException {
    try {
      return p.run();
    } catch (ResourceInvalidException e) {
      return String.valueOf(e.getMessage());
    }
  }

  // --- generators: every message is valid wire; the values are what a broken or hostile control plane could send.

  private static final String[] ODD_STRINGS = {
    "", "/", "ns/host", "a/b/c", "spiffe://cluster.local/ns/default/sa/default", "spiffe://", "spiffe://td/ns//sa/",
    "spiffe://td/ns/a/sa/b/extra", "\u0000", "\uD83D\uDE00", "ns/", "/host", "Kubernetes//Pod/ns/name", " ", "%",
  };

  private static String str(FuzzedDataProvider d) {
    return d.consumeBoolean() ? d.pickValue(ODD_STRINGS) : d.consumeString(24);
  }

  private static ByteString ip(FuzzedDataProvider d) {
    int n = switch (d.consumeInt(0, 3)) {
      case 0 -> 4;
      case 1 -> 16;
      default -> d.consumeInt(0, 20);
    };
    return ByteString.copyFrom(d.consumeBytes(n));
  }

  /** Mostly small enum numbers (known and just-unknown), sometimes any int. */
  private static int enumNumber(FuzzedDataProvider d) {
    return d.consumeBoolean() ? d.consumeInt(-1, 8) : d.consumeInt();
  }

  private static int count(FuzzedDataProvider d) {
    return d.consumeInt(0, 3);
  }

  static Address address(FuzzedDataProvider d) {
    return switch (d.consumeInt(0, 2)) {
      case 0 -> Address.newBuilder().setWorkload(workload(d)).build();
      case 1 -> Address.newBuilder().setService(service(d)).build();
      default -> Address.getDefaultInstance();
    };
  }

  static Workload workload(FuzzedDataProvider d) {
    Workload.Builder b = Workload.newBuilder()
        .setUid(str(d)).setName(str(d)).setNamespace(str(d)).setHostname(str(d)).setNetwork(str(d))
        .setTrustDomain(str(d)).setServiceAccount(str(d)).setNode(str(d)).setCanonicalName(str(d))
        .setCanonicalRevision(str(d)).setWorkloadName(str(d)).setClusterId(str(d))
        .setNativeTunnel(d.consumeBoolean())
        .setTunnelProtocolValue(enumNumber(d)).setWorkloadTypeValue(enumNumber(d))
        .setStatusValue(enumNumber(d)).setNetworkModeValue(enumNumber(d));
    for (int i = count(d); i > 0; i--) {
      b.addAddresses(ip(d));
    }
    if (d.consumeBoolean()) {
      b.setWaypoint(gateway(d));
    }
    if (d.consumeBoolean()) {
      b.setNetworkGateway(gateway(d));
    }
    if (d.consumeBoolean()) {
      b.setApplicationTunnel(ApplicationTunnel.newBuilder().setProtocolValue(enumNumber(d)).setPort(d.consumeInt()));
    }
    for (int i = count(d); i > 0; i--) {
      PortList.Builder ports = PortList.newBuilder();
      for (int j = count(d); j > 0; j--) {
        ports.addPorts(port(d));
      }
      b.putServices(str(d), ports.build());
    }
    for (int i = count(d); i > 0; i--) {
      b.addAuthorizationPolicies(str(d));
    }
    if (d.consumeBoolean()) {
      b.setLocality(Locality.newBuilder().setRegion(str(d)).setZone(str(d)).setSubzone(str(d)));
    }
    if (d.consumeBoolean()) {
      b.setCapacity(UInt32Value.of(d.consumeInt()));
    }
    return b.build();
  }

  static Service service(FuzzedDataProvider d) {
    Service.Builder b = Service.newBuilder()
        .setName(str(d)).setNamespace(str(d)).setHostname(str(d)).setCanonical(d.consumeBoolean())
        .setIpFamiliesValue(enumNumber(d)).setVisibilityValue(enumNumber(d));
    for (int i = count(d); i > 0; i--) {
      b.addAddresses(networkAddress(d));
    }
    for (int i = count(d); i > 0; i--) {
      b.addPorts(port(d));
    }
    for (int i = count(d); i > 0; i--) {
      b.addSubjectAltNames(str(d));
    }
    if (d.consumeBoolean()) {
      b.setWaypoint(gateway(d));
    }
    if (d.consumeBoolean()) {
      LoadBalancing.Builder lb = LoadBalancing.newBuilder().setModeValue(enumNumber(d))
          .setHealthPolicyValue(enumNumber(d));
      for (int i = count(d); i > 0; i--) {
        lb.addRoutingPreferenceValue(enumNumber(d));
      }
      b.setLoadBalancing(lb);
    }
    for (int i = count(d); i > 0; i--) {
      WeightedWaypoint.Builder w = WeightedWaypoint.newBuilder().setWeight(d.consumeInt());
      if (d.consumeBoolean()) {
        w.setDestination(gateway(d));
      }
      b.addWeightedWaypoints(w);
    }
    return b.build();
  }

  private static NetworkAddress networkAddress(FuzzedDataProvider d) {
    NetworkAddress.Builder b = NetworkAddress.newBuilder().setNetwork(str(d)).setAddress(ip(d));
    if (d.consumeBoolean()) {
      b.setLength(d.consumeBoolean() ? d.consumeInt(-1, 129) : d.consumeInt());
    }
    return b.build();
  }

  private static GatewayAddress gateway(FuzzedDataProvider d) {
    GatewayAddress.Builder b = GatewayAddress.newBuilder().setHboneMtlsPort(d.consumeInt());
    switch (d.consumeInt(0, 2)) {
      case 0 -> b.setHostname(NamespacedHostname.newBuilder().setNamespace(str(d)).setHostname(str(d)));
      case 1 -> b.setAddress(networkAddress(d));
      default -> { } // destination oneof not set
    }
    return b.build();
  }

  private static Port port(FuzzedDataProvider d) {
    return Port.newBuilder().setServicePort(d.consumeInt()).setTargetPort(d.consumeInt()).build();
  }

  static dev.ambient.xds.api.security.Authorization authorization(FuzzedDataProvider d) {
    var b = dev.ambient.xds.api.security.Authorization.newBuilder()
        .setName(str(d)).setNamespace(str(d)).setScopeValue(enumNumber(d)).setActionValue(enumNumber(d))
        .setDryRun(d.consumeBoolean());
    for (int i = count(d); i > 0; i--) {
      Rule.Builder r = Rule.newBuilder();
      for (int j = count(d); j > 0; j--) {
        Clause.Builder c = Clause.newBuilder();
        for (int k = count(d); k > 0; k--) {
          c.addMatches(match(d));
        }
        r.addClauses(c);
      }
      b.addRules(r);
    }
    return b.build();
  }

  private static Match match(FuzzedDataProvider d) {
    Match.Builder m = Match.newBuilder();
    for (int i = count(d); i > 0; i--) {
      switch (d.consumeInt(0, 7)) {
        case 0 -> m.addNamespaces(stringMatch(d));
        case 1 -> m.addNotPrincipals(stringMatch(d));
        case 2 -> m.addSourceIps(securityAddress(d));
        case 3 -> m.addNotDestinationIps(securityAddress(d));
        case 4 -> m.addDestinationPorts(d.consumeInt());
        case 5 -> m.addNotDestinationPorts(d.consumeInt());
        case 6 -> m.addServiceAccounts(ServiceAccountMatch.newBuilder().setNamespace(str(d)).setServiceAccount(str(d)));
        default -> {
          m.addPrincipals(stringMatch(d));
          m.addNotNamespaces(stringMatch(d));
          m.addNotSourceIps(securityAddress(d));
          m.addDestinationIps(securityAddress(d));
          m.addNotServiceAccounts(ServiceAccountMatch.newBuilder().setNamespace(str(d)).setServiceAccount(str(d)));
        }
      }
    }
    return m.build();
  }

  private static StringMatch stringMatch(FuzzedDataProvider d) {
    StringMatch.Builder s = StringMatch.newBuilder();
    switch (d.consumeInt(0, 4)) {
      case 0 -> s.setExact(str(d));
      case 1 -> s.setPrefix(str(d));
      case 2 -> s.setSuffix(str(d));
      case 3 -> s.setPresence(com.google.protobuf.Empty.getDefaultInstance());
      default -> { } // match type oneof not set: dropped by the parser
    }
    return s.build();
  }

  private static dev.ambient.xds.api.security.Address securityAddress(FuzzedDataProvider d) {
    return dev.ambient.xds.api.security.Address.newBuilder().setAddress(ip(d))
        .setLength(d.consumeBoolean() ? d.consumeInt(-1, 129) : d.consumeInt()).build();
  }
}
