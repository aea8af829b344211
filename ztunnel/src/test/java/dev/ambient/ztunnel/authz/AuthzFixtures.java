package dev.ambient.ztunnel.authz;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ambient.identity.SpiffeId;
import dev.ambient.xds.client.Authorization;
import dev.ambient.xds.client.Authorization.Action;
import dev.ambient.xds.client.Authorization.Clause;
import dev.ambient.xds.client.Authorization.IpNet;
import dev.ambient.xds.client.Authorization.Match;
import dev.ambient.xds.client.Authorization.Rule;
import dev.ambient.xds.client.Authorization.Scope;
import dev.ambient.xds.client.Authorization.ServiceAccountMatch;
import dev.ambient.xds.client.Authorization.StringMatch;
import dev.ambient.xds.client.Workload;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** Builders for policies, workloads and connections in the authz tests. */
final class AuthzFixtures {
  static final SpiffeId CLIENT = SpiffeId.of("cluster.local", "client-ns", "client-sa");
  static final String DST_IP = "198.18.0.2";
  static final int DST_PORT = 8080;

  private AuthzFixtures() {}

  static InetAddress ip(String literal) {
    try {
      return InetAddress.getByName(literal);
    } catch (UnknownHostException e) {
      throw new AssertionError(e);
    }
  }

  static IpNet net(String cidr) {
    String[] parts = cidr.split("/");
    return new IpNet(ip(parts[0]), Integer.parseInt(parts[1]));
  }

  /** 198.19.2.3:40000 with the client identity to 198.18.0.2:8080. */
  static Connection mtls() {
    return connection("198.19.2.3", Optional.of(CLIENT));
  }

  /** 198.19.2.3:40000 without identity to 198.18.0.2:8080. */
  static Connection plaintext() {
    return connection("198.19.2.3", Optional.empty());
  }

  static Connection connection(String srcIp, Optional<SpiffeId> identity) {
    return new Connection(ip(srcIp), 40000, ip(DST_IP), DST_PORT, identity, "net1");
  }

  static Connection from(SpiffeId identity) {
    return connection("198.19.2.3", Optional.of(identity));
  }

  static Workload workload(String uid, String namespace, String... policies) {
    return new Workload(uid, "pod-" + uid, namespace, List.of(ip(DST_IP)), "", "net1",
        Workload.TunnelProtocol.HBONE, "cluster.local", "server-sa", Optional.empty(), Optional.empty(),
        "node1", "", "", Workload.WorkloadType.POD, "", false, Optional.empty(), Map.of(),
        List.of(policies), Workload.Status.HEALTHY, "Kubernetes", Optional.empty(),
        Workload.NetworkMode.STANDARD, 1);
  }

  /** The destination used by the matrix: namespace {@code server-ns}, no selector policies. */
  static Workload server() {
    return workload("server", "server-ns");
  }

  static Authorization policy(String namespace, String name, Scope scope, Action action, Rule... rules) {
    return new Authorization(name, namespace, scope, action, List.of(rules), false);
  }

  static Authorization dryRun(Authorization p) {
    return new Authorization(p.name(), p.namespace(), p.scope(), p.action(), p.rules(), true);
  }

  static Authorization allow(String namespace, String name, Rule... rules) {
    return policy(namespace, name, Scope.NAMESPACE, Action.ALLOW, rules);
  }

  static Authorization deny(String namespace, String name, Rule... rules) {
    return policy(namespace, name, Scope.NAMESPACE, Action.DENY, rules);
  }

  static Rule rule(Clause... clauses) {
    return new Rule(List.of(clauses));
  }

  static Clause clause(Match... matches) {
    return new Clause(List.of(matches));
  }

  /** A rule of one clause of one match. */
  static Rule ruleOf(Match match) {
    return rule(clause(match));
  }

  static PolicyIndex index(Authorization... policies) {
    Map<String, Authorization> m = new LinkedHashMap<>();
    for (Authorization p : policies) {
      m.put(p.key(), p);
    }
    return PolicyIndex.of(m);
  }

  static StringMatch exact(String v) {
    return new StringMatch.Exact(v);
  }

  static StringMatch prefix(String v) {
    return new StringMatch.Prefix(v);
  }

  static StringMatch suffix(String v) {
    return new StringMatch.Suffix(v);
  }

  static StringMatch presence() {
    return new StringMatch.Presence();
  }

  static ServiceAccountMatch sa(String namespace, String name) {
    return new ServiceAccountMatch(namespace, name);
  }

  static AuthorizedConnection assertAllowed(Decision d) {
    assertThat(d).isInstanceOf(Decision.Allow.class);
    return ((Decision.Allow) d).connection();
  }

  static Decision.Deny assertDenied(Decision d) {
    assertThat(d).isInstanceOf(Decision.Deny.class);
    return (Decision.Deny) d;
  }

  static MatchBuilder match() {
    return new MatchBuilder();
  }

  /** A fluent {@link Match}: every list starts empty. */
  static final class MatchBuilder {
    private final List<StringMatch> namespaces = new ArrayList<>();
    private final List<StringMatch> notNamespaces = new ArrayList<>();
    private final List<StringMatch> principals = new ArrayList<>();
    private final List<StringMatch> notPrincipals = new ArrayList<>();
    private final List<IpNet> sourceIps = new ArrayList<>();
    private final List<IpNet> notSourceIps = new ArrayList<>();
    private final List<IpNet> destinationIps = new ArrayList<>();
    private final List<IpNet> notDestinationIps = new ArrayList<>();
    private final List<Integer> destinationPorts = new ArrayList<>();
    private final List<Integer> notDestinationPorts = new ArrayList<>();
    private final List<ServiceAccountMatch> serviceAccounts = new ArrayList<>();
    private final List<ServiceAccountMatch> notServiceAccounts = new ArrayList<>();

    MatchBuilder namespaces(StringMatch... v) {
      namespaces.addAll(Arrays.asList(v));
      return this;
    }

    MatchBuilder notNamespaces(StringMatch... v) {
      notNamespaces.addAll(Arrays.asList(v));
      return this;
    }

    MatchBuilder principals(StringMatch... v) {
      principals.addAll(Arrays.asList(v));
      return this;
    }

    MatchBuilder notPrincipals(StringMatch... v) {
      notPrincipals.addAll(Arrays.asList(v));
      return this;
    }

    MatchBuilder sourceIps(String... cidrs) {
      for (String c : cidrs) {
        sourceIps.add(net(c));
      }
      return this;
    }

    MatchBuilder notSourceIps(String... cidrs) {
      for (String c : cidrs) {
        notSourceIps.add(net(c));
      }
      return this;
    }

    MatchBuilder destinationIps(String... cidrs) {
      for (String c : cidrs) {
        destinationIps.add(net(c));
      }
      return this;
    }

    MatchBuilder notDestinationIps(String... cidrs) {
      for (String c : cidrs) {
        notDestinationIps.add(net(c));
      }
      return this;
    }

    MatchBuilder destinationPorts(Integer... v) {
      destinationPorts.addAll(Arrays.asList(v));
      return this;
    }

    MatchBuilder notDestinationPorts(Integer... v) {
      notDestinationPorts.addAll(Arrays.asList(v));
      return this;
    }

    MatchBuilder serviceAccounts(ServiceAccountMatch... v) {
      serviceAccounts.addAll(Arrays.asList(v));
      return this;
    }

    MatchBuilder notServiceAccounts(ServiceAccountMatch... v) {
      notServiceAccounts.addAll(Arrays.asList(v));
      return this;
    }

    Match build() {
      return new Match(namespaces, notNamespaces, principals, notPrincipals, sourceIps, notSourceIps,
          destinationIps, notDestinationIps, destinationPorts, notDestinationPorts, serviceAccounts,
          notServiceAccounts);
    }
  }
}
