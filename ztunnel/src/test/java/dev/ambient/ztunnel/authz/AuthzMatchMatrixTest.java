package dev.ambient.ztunnel.authz;

import static dev.ambient.ztunnel.authz.AuthzFixtures.*;
import static org.assertj.core.api.Assertions.assertThat;

import dev.ambient.identity.SpiffeId;
import dev.ambient.xds.client.Authorization.Match;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every {@code Match} field, positive and negative, against a connection with the client identity
 * ({@code spiffe://cluster.local/ns/client-ns/sa/client-sa}, 198.19.2.3 → 198.18.0.2:8080) and the
 * same connection in plaintext. Each row is one enforced ALLOW policy with one match: the
 * connection is allowed exactly when the match matches.
 */
class AuthzMatchMatrixTest {
  private static final String PRINCIPAL = "cluster.local/ns/client-ns/sa/client-sa";

  /** name, match, allowed with identity, allowed in plaintext. */
  private record Row(String name, Match match, boolean mtlsAllowed, boolean plaintextAllowed) {}

  private static List<Row> rows() {
    List<Row> r = new ArrayList<>();
    // namespaces: the identity's namespace; "" without identity.
    r.add(new Row("namespaces_exactMatch", match().namespaces(exact("client-ns")).build(), true, false));
    r.add(new Row("namespaces_exactOther", match().namespaces(exact("other-ns")).build(), false, false));
    r.add(new Row("namespaces_prefixMatch", match().namespaces(prefix("client-")).build(), true, false));
    r.add(new Row("namespaces_suffixMatch", match().namespaces(suffix("-ns")).build(), true, false));
    r.add(new Row("namespaces_suffixOther", match().namespaces(suffix("-prod")).build(), false, false));
    r.add(new Row("namespaces_presence", match().namespaces(presence()).build(), true, false));
    r.add(new Row("notNamespaces_exactMatch", match().notNamespaces(exact("client-ns")).build(), false, true));
    r.add(new Row("notNamespaces_exactOther", match().notNamespaces(exact("other-ns")).build(), true, true));
    r.add(new Row("notNamespaces_prefixMatch", match().notNamespaces(prefix("client")).build(), false, true));
    r.add(new Row("notNamespaces_presence", match().notNamespaces(presence()).build(), false, true));
    // principals: the SPIFFE id without "spiffe://"; never matches without identity.
    r.add(new Row("principals_exactMatch", match().principals(exact(PRINCIPAL)).build(), true, false));
    r.add(new Row("principals_exactWithSpiffeScheme",
        match().principals(exact("spiffe://" + PRINCIPAL)).build(), false, false));
    r.add(new Row("principals_exactOther",
        match().principals(exact("cluster.local/ns/client-ns/sa/other")).build(), false, false));
    r.add(new Row("principals_prefixMatch", match().principals(prefix("cluster.local/ns/client-ns/")).build(), true, false));
    r.add(new Row("principals_prefixOther", match().principals(prefix("other.domain/")).build(), false, false));
    r.add(new Row("principals_suffixMatch", match().principals(suffix("/sa/client-sa")).build(), true, false));
    r.add(new Row("principals_suffixOther", match().principals(suffix("/sa/other")).build(), false, false));
    r.add(new Row("principals_presence", match().principals(presence()).build(), true, false));
    r.add(new Row("notPrincipals_exactMatch", match().notPrincipals(exact(PRINCIPAL)).build(), false, true));
    r.add(new Row("notPrincipals_exactOther",
        match().notPrincipals(exact("cluster.local/ns/x/sa/y")).build(), true, true));
    r.add(new Row("notPrincipals_prefixMatch", match().notPrincipals(prefix("cluster.local/")).build(), false, true));
    r.add(new Row("notPrincipals_suffixMatch", match().notPrincipals(suffix("/sa/client-sa")).build(), false, true));
    r.add(new Row("notPrincipals_suffixOther", match().notPrincipals(suffix("/sa/other")).build(), true, true));
    r.add(new Row("notPrincipals_presence", match().notPrincipals(presence()).build(), false, true));
    // source_ips: CIDR contains the source address (198.19.2.3).
    r.add(new Row("sourceIps_hostMatch", match().sourceIps("198.19.2.3/32").build(), true, true));
    r.add(new Row("sourceIps_hostOther", match().sourceIps("198.19.2.4/32").build(), false, false));
    r.add(new Row("sourceIps_prefix16Match", match().sourceIps("198.19.0.0/16").build(), true, true));
    r.add(new Row("sourceIps_prefix16Other", match().sourceIps("198.18.0.0/16").build(), false, false));
    r.add(new Row("sourceIps_prefix25LowerHalf", match().sourceIps("198.19.2.0/25").build(), true, true));
    r.add(new Row("sourceIps_prefix25UpperHalf", match().sourceIps("198.19.2.128/25").build(), false, false));
    r.add(new Row("sourceIps_unmaskedPrefix", match().sourceIps("198.19.99.99/16").build(), true, true));
    r.add(new Row("sourceIps_allIpv4", match().sourceIps("0.0.0.0/0").build(), true, true));
    r.add(new Row("sourceIps_allIpv6ForIpv4Source", match().sourceIps("::/0").build(), false, false));
    r.add(new Row("notSourceIps_prefixMatch", match().notSourceIps("198.19.0.0/16").build(), false, false));
    r.add(new Row("notSourceIps_prefixOther", match().notSourceIps("198.18.0.0/16").build(), true, true));
    // destination_ips: CIDR contains the destination (pod) address (198.18.0.2).
    r.add(new Row("destinationIps_prefixMatch", match().destinationIps("198.18.0.0/24").build(), true, true));
    r.add(new Row("destinationIps_prefixOther", match().destinationIps("198.18.1.0/24").build(), false, false));
    r.add(new Row("notDestinationIps_hostMatch", match().notDestinationIps("198.18.0.2/32").build(), false, false));
    r.add(new Row("notDestinationIps_prefixOther", match().notDestinationIps("198.18.1.0/24").build(), true, true));
    // destination_ports: the pod's target port (8080).
    r.add(new Row("destinationPorts_match", match().destinationPorts(8080).build(), true, true));
    r.add(new Row("destinationPorts_other", match().destinationPorts(9090).build(), false, false));
    r.add(new Row("notDestinationPorts_match", match().notDestinationPorts(8080).build(), false, false));
    r.add(new Row("notDestinationPorts_other", match().notDestinationPorts(9090).build(), true, true));
    // service_accounts: identity present and (namespace, sa) equal.
    r.add(new Row("serviceAccounts_match", match().serviceAccounts(sa("client-ns", "client-sa")).build(), true, false));
    r.add(new Row("serviceAccounts_otherAccount", match().serviceAccounts(sa("client-ns", "other")).build(), false, false));
    r.add(new Row("serviceAccounts_otherNamespace",
        match().serviceAccounts(sa("other-ns", "client-sa")).build(), false, false));
    r.add(new Row("notServiceAccounts_match",
        match().notServiceAccounts(sa("client-ns", "client-sa")).build(), false, true));
    r.add(new Row("notServiceAccounts_other", match().notServiceAccounts(sa("client-ns", "other")).build(), true, true));
    // Combinations.
    r.add(new Row("andAcrossFields_allMatch",
        match().namespaces(exact("client-ns")).sourceIps("198.19.0.0/16").destinationPorts(8080).build(), true, false));
    r.add(new Row("andAcrossFields_portOther",
        match().namespaces(exact("client-ns")).sourceIps("198.19.0.0/16").destinationPorts(9090).build(), false, false));
    r.add(new Row("andAcrossFields_ipAndPortMatch",
        match().sourceIps("198.19.0.0/16").destinationPorts(8080).build(), true, true));
    r.add(new Row("orWithinField_principalsSecondMatches",
        match().principals(exact("cluster.local/ns/x/sa/y"), suffix("/sa/client-sa")).build(), true, false));
    r.add(new Row("orWithinField_portsSecondMatches", match().destinationPorts(9090, 8080).build(), true, true));
    r.add(new Row("orWithinField_notPortsAnyExcludes", match().notDestinationPorts(9090, 8080).build(), false, false));
    r.add(new Row("orWithinField_sourceIpsSecondMatches",
        match().sourceIps("198.18.0.0/16", "198.19.2.3/32").build(), true, true));
    r.add(new Row("positiveAndNegative_negativeExcludes",
        match().namespaces(presence()).notNamespaces(exact("client-ns")).build(), false, false));
    r.add(new Row("positiveAndNegative_bothPass",
        match().namespaces(presence()).notNamespaces(exact("other-ns")).build(), true, false));
    r.add(new Row("emptyMatch_neverMatches", match().build(), false, false));
    return r;
  }

  static Stream<Arguments> matrix() {
    return rows().stream().flatMap(row -> Stream.of(
        Arguments.of(row.name() + "_identityConnection_" + verdict(row.mtlsAllowed()), row.match(), mtls(),
            row.mtlsAllowed()),
        Arguments.of(row.name() + "_plaintextConnection_" + verdict(row.plaintextAllowed()), row.match(),
            plaintext(), row.plaintextAllowed())));
  }

  private static String verdict(boolean allowed) {
    return allowed ? "allowed" : "denied";
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("matrix")
  void matchField(String name, Match match, Connection connection, boolean allowed) {
    PolicyIndex index = index(allow("server-ns", "p", ruleOf(match)));

    Decision d = Authorizer.create().authorize(connection, server(), index);

    if (allowed) {
      assertThat(assertAllowed(d).policy()).map(p -> p.key()).contains("server-ns/p");
    } else {
      assertThat(assertDenied(d).reason()).isEqualTo(Decision.Reason.NO_ALLOW_MATCHED);
    }
  }

  /** The same rows as DENY policies: denied exactly when the ALLOW form was allowed. */
  @ParameterizedTest(name = "{0}")
  @MethodSource("matrix")
  void matchField_asDenyPolicy_inverse(String name, Match match, Connection connection, boolean matches) {
    PolicyIndex index = index(deny("server-ns", "d", ruleOf(match)));

    Decision d = Authorizer.create().authorize(connection, server(), index);

    if (matches) {
      assertThat(assertDenied(d).policy()).contains("server-ns/d");
    } else {
      assertThat(assertAllowed(d).policy()).isEmpty();
    }
  }

  static Stream<Arguments> ipv6() {
    Connection v6 = new Connection(ip("fd00:1::5"), 40000, ip("fd00:2::9"), 8080, Optional.of(CLIENT), "net1");
    return Stream.of(
        Arguments.of("sourceIps_ipv6Prefix64Match_identityConnection_allowed", match().sourceIps("fd00:1::/64").build(), v6, true),
        Arguments.of("sourceIps_ipv6PrefixOther_identityConnection_denied", match().sourceIps("fd00:3::/64").build(), v6, false),
        Arguments.of("sourceIps_ipv4RangeForIpv6Source_identityConnection_denied", match().sourceIps("0.0.0.0/0").build(), v6, false),
        Arguments.of("destinationIps_ipv6Prefix127Match_identityConnection_allowed",
            match().destinationIps("fd00:2::8/127").build(), v6, true),
        Arguments.of("destinationIps_ipv6Prefix127Other_identityConnection_denied",
            match().destinationIps("fd00:2::a/127").build(), v6, false),
        Arguments.of("notDestinationIps_ipv6Host_identityConnection_denied",
            match().notDestinationIps("fd00:2::9/128").build(), v6, false),
        Arguments.of("sourceIps_ipv4MappedIpv6Literal_identityConnection_allowed",
            match().sourceIps("::ffff:198.19.2.3/32").build(), mtls(), true));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("ipv6")
  void ipv6Field(String name, Match match, Connection connection, boolean allowed) {
    Decision d = Authorizer.create().authorize(connection, server(), index(allow("server-ns", "p", ruleOf(match))));

    assertThat(d instanceof Decision.Allow).isEqualTo(allowed);
  }

  @ParameterizedTest(name = "principals_trustDomain_{0}")
  @MethodSource("trustDomains")
  void principals_otherTrustDomain_prefixOnTrustDomain(String name, SpiffeId id, boolean allowed) {
    PolicyIndex index = index(allow("server-ns", "p", ruleOf(match().principals(prefix("td.example/")).build())));

    assertThat(Authorizer.create().authorize(from(id), server(), index) instanceof Decision.Allow).isEqualTo(allowed);
  }

  static Stream<Arguments> trustDomains() {
    return Stream.of(
        Arguments.of("matching_allowed", SpiffeId.of("td.example", "a", "b"), true),
        Arguments.of("clusterLocal_denied", SpiffeId.of("cluster.local", "a", "b"), false));
  }
}
