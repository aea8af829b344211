package dev.ambient.ztunnel.authz;

import dev.ambient.identity.SpiffeId;
import dev.ambient.xds.client.Authorization;
import dev.ambient.xds.client.Authorization.IpNet;
import dev.ambient.xds.client.Authorization.Match;
import dev.ambient.xds.client.Authorization.ServiceAccountMatch;
import dev.ambient.xds.client.Authorization.StringMatch;
import java.util.List;
import java.util.Optional;
import org.jspecify.annotations.Nullable;

/**
 * An {@link Authorization} turned into matchers when the {@link PolicyIndex} is built (STYLE 4),
 * so that matching a connection walks arrays and compares pre-masked address bytes without
 * allocating. Immutable.
 *
 * <p>Matching follows spec §6.4: zero rules never match; a rule matches when all its clauses do;
 * a clause with no matches matches, otherwise any of its matches must; a match with every field
 * empty never matches; for each (positive, negative) field pair the positive list is empty or has
 * a hit, and the negative list is empty or has none.
 */
final class CompiledPolicy {
  final Authorization policy;
  /** Shared result objects, so that a decision citing this policy allocates nothing. */
  final Optional<Authorization> asOptional;
  final Decision.@Nullable Deny deny;
  final boolean usesSourceIp;
  final boolean usesDestinationIp;
  final boolean usesPrincipal;
  private final CompiledMatch[][][] rules; // rules -> clauses -> matches

  CompiledPolicy(Authorization policy) {
    this.policy = policy;
    this.asOptional = Optional.of(policy);
    this.deny = policy.action() == Authorization.Action.DENY ? Decision.Deny.explicitlyDeniedBy(policy.key()) : null;
    List<Authorization.Rule> rs = policy.rules();
    rules = new CompiledMatch[rs.size()][][];
    boolean src = false;
    boolean dst = false;
    boolean principal = false;
    for (int r = 0; r < rs.size(); r++) {
      List<Authorization.Clause> cs = rs.get(r).clauses();
      rules[r] = new CompiledMatch[cs.size()][];
      for (int c = 0; c < cs.size(); c++) {
        List<Match> ms = cs.get(c).matches();
        rules[r][c] = new CompiledMatch[ms.size()];
        for (int m = 0; m < ms.size(); m++) {
          CompiledMatch cm = new CompiledMatch(ms.get(m));
          rules[r][c][m] = cm;
          src |= cm.sourceIps.length + cm.notSourceIps.length > 0;
          dst |= cm.destinationIps.length + cm.notDestinationIps.length > 0;
          principal |= cm.principals.length + cm.notPrincipals.length > 0;
        }
      }
    }
    usesSourceIp = src;
    usesDestinationIp = dst;
    usesPrincipal = principal;
  }

  boolean isAllow() {
    return policy.action() == Authorization.Action.ALLOW;
  }

  boolean dryRun() {
    return policy.dryRun();
  }

  /**
   * @param src source address bytes, or null when {@link #usesSourceIp} is false
   * @param dst destination address bytes, or null when {@link #usesDestinationIp} is false
   * @param principal the source identity without {@code spiffe://}, or null when plaintext or when
   *     {@link #usesPrincipal} is false
   */
  boolean matches(Connection conn, byte @Nullable [] src, byte @Nullable [] dst, @Nullable String principal) {
    for (CompiledMatch[][] rule : rules) { // rules: OR
      if (ruleMatches(rule, conn, src, dst, principal)) {
        return true;
      }
    }
    return false; // includes "no rules"
  }

  private static boolean ruleMatches(
      CompiledMatch[][] rule, Connection conn, byte @Nullable [] src, byte @Nullable [] dst, @Nullable String principal) {
    for (CompiledMatch[] clause : rule) { // clauses: AND
      if (clause.length == 0) {
        continue; // an empty clause matches
      }
      boolean any = false;
      for (CompiledMatch m : clause) { // matches: OR
        if (m.matches(conn, src, dst, principal)) {
          any = true;
          break;
        }
      }
      if (!any) {
        return false;
      }
    }
    return true; // includes "no clauses"
  }

  /** One {@link Match}, with CIDRs pre-masked and lists turned into arrays. */
  static final class CompiledMatch {
    final StringMatch[] namespaces;
    final StringMatch[] notNamespaces;
    final StringMatch[] principals;
    final StringMatch[] notPrincipals;
    final Cidr[] sourceIps;
    final Cidr[] notSourceIps;
    final Cidr[] destinationIps;
    final Cidr[] notDestinationIps;
    final int[] destinationPorts;
    final int[] notDestinationPorts;
    final ServiceAccountMatch[] serviceAccounts;
    final ServiceAccountMatch[] notServiceAccounts;
    final boolean empty;

    CompiledMatch(Match m) {
      namespaces = m.namespaces().toArray(StringMatch[]::new);
      notNamespaces = m.notNamespaces().toArray(StringMatch[]::new);
      principals = m.principals().toArray(StringMatch[]::new);
      notPrincipals = m.notPrincipals().toArray(StringMatch[]::new);
      sourceIps = cidrs(m.sourceIps());
      notSourceIps = cidrs(m.notSourceIps());
      destinationIps = cidrs(m.destinationIps());
      notDestinationIps = cidrs(m.notDestinationIps());
      destinationPorts = m.destinationPorts().stream().mapToInt(Integer::intValue).toArray();
      notDestinationPorts = m.notDestinationPorts().stream().mapToInt(Integer::intValue).toArray();
      serviceAccounts = m.serviceAccounts().toArray(ServiceAccountMatch[]::new);
      notServiceAccounts = m.notServiceAccounts().toArray(ServiceAccountMatch[]::new);
      empty = namespaces.length + notNamespaces.length + principals.length + notPrincipals.length
          + sourceIps.length + notSourceIps.length + destinationIps.length + notDestinationIps.length
          + destinationPorts.length + notDestinationPorts.length
          + serviceAccounts.length + notServiceAccounts.length == 0;
    }

    boolean matches(Connection conn, byte @Nullable [] src, byte @Nullable [] dst, @Nullable String principal) {
      if (empty) {
        return false; // a match with only ignored fields (extensions) is skipped
      }
      Optional<SpiffeId> identity = conn.srcIdentity();
      // Without an identity the namespace is "" (so presence fails); principals and service
      // accounts never match.
      String namespace = identity.isPresent() ? identity.get().namespace() : "";
      return pair(destinationIps.length == 0 || anyContains(destinationIps, dst),
              notDestinationIps.length == 0 || !anyContains(notDestinationIps, dst))
          && pair(sourceIps.length == 0 || anyContains(sourceIps, src),
              notSourceIps.length == 0 || !anyContains(notSourceIps, src))
          && pair(destinationPorts.length == 0 || anyEquals(destinationPorts, conn.dstPort()),
              notDestinationPorts.length == 0 || !anyEquals(notDestinationPorts, conn.dstPort()))
          && pair(serviceAccounts.length == 0 || anyServiceAccount(serviceAccounts, identity),
              notServiceAccounts.length == 0 || !anyServiceAccount(notServiceAccounts, identity))
          && pair(principals.length == 0 || (principal != null && anyString(principals, principal)),
              notPrincipals.length == 0 || principal == null || !anyString(notPrincipals, principal))
          && pair(namespaces.length == 0 || anyString(namespaces, namespace),
              notNamespaces.length == 0 || !anyString(notNamespaces, namespace));
    }

    private static boolean pair(boolean positive, boolean negative) {
      return positive && negative;
    }

    private static boolean anyContains(Cidr[] nets, byte @Nullable [] address) {
      if (address == null) {
        throw new IllegalStateException("address bytes were not computed");
      }
      for (Cidr n : nets) {
        if (n.contains(address)) {
          return true;
        }
      }
      return false;
    }

    private static boolean anyEquals(int[] values, int value) {
      for (int v : values) {
        if (v == value) {
          return true;
        }
      }
      return false;
    }

    private static boolean anyServiceAccount(ServiceAccountMatch[] sas, Optional<SpiffeId> identity) {
      if (identity.isEmpty()) {
        return false;
      }
      SpiffeId id = identity.get();
      for (ServiceAccountMatch sa : sas) {
        if (sa.namespace().equals(id.namespace()) && sa.serviceAccount().equals(id.serviceAccount())) {
          return true;
        }
      }
      return false;
    }

    private static boolean anyString(StringMatch[] matchers, String value) {
      for (StringMatch m : matchers) {
        if (stringMatches(m, value)) {
          return true;
        }
      }
      return false;
    }

    static boolean stringMatches(StringMatch m, String value) {
      return switch (m) {
        case StringMatch.Exact e -> value.equals(e.value());
        case StringMatch.Prefix p -> value.startsWith(p.value());
        case StringMatch.Suffix s -> value.endsWith(s.value());
        case StringMatch.Presence ignored -> !value.isEmpty();
      };
    }

    private static Cidr[] cidrs(List<IpNet> nets) {
      Cidr[] out = new Cidr[nets.size()];
      for (int i = 0; i < out.length; i++) {
        out[i] = Cidr.of(nets.get(i));
      }
      return out;
    }
  }

  /** A CIDR with its network bytes masked once; an IPv4 range never contains an IPv6 address. */
  record Cidr(byte[] network, int prefixLength) {
    static Cidr of(IpNet net) {
      byte[] bytes = net.address().getAddress();
      int full = net.prefixLength() / 8;
      int rest = net.prefixLength() % 8;
      for (int i = full; i < bytes.length; i++) {
        bytes[i] = i == full && rest != 0 ? (byte) (bytes[i] & (0xFF << (8 - rest))) : 0;
      }
      return new Cidr(bytes, net.prefixLength());
    }

    boolean contains(byte[] address) {
      if (address.length != network.length) {
        return false;
      }
      int full = prefixLength / 8;
      for (int i = 0; i < full; i++) {
        if (address[i] != network[i]) {
          return false;
        }
      }
      int rest = prefixLength % 8;
      if (rest == 0) {
        return true;
      }
      int mask = (0xFF << (8 - rest)) & 0xFF;
      return (address[full] & mask) == (network[full] & 0xFF);
    }
  }
}
