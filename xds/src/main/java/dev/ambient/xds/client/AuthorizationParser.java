package dev.ambient.xds.client;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import dev.ambient.xds.api.security.Address;
import dev.ambient.xds.api.security.StringMatch;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;

/**
 * Converts an {@code istio.security.Authorization} into an {@link Authorization}, enforcing spec
 * §1.2: unknown scope or action rejects the policy; an invalid IP entry or a StringMatch without a
 * variant is dropped and the rest of the policy kept.
 */
public final class AuthorizationParser {
  private AuthorizationParser() {}

  /** Decodes the wire bytes, then {@link #parse(dev.ambient.xds.api.security.Authorization)}. */
  public static Authorization parse(ByteString bytes) throws InvalidProtocolBufferException, ResourceInvalidException {
    return parse(dev.ambient.xds.api.security.Authorization.parseFrom(bytes));
  }

  public static Authorization parse(dev.ambient.xds.api.security.Authorization a) throws ResourceInvalidException {
    Authorization.Scope scope = switch (a.getScopeValue()) {
      case 0 -> Authorization.Scope.GLOBAL;
      case 1 -> Authorization.Scope.NAMESPACE;
      case 2 -> Authorization.Scope.WORKLOAD_SELECTOR;
      default -> throw new ResourceInvalidException("unknown scope " + a.getScopeValue());
    };
    Authorization.Action action = switch (a.getActionValue()) {
      case 0 -> Authorization.Action.ALLOW;
      case 1 -> Authorization.Action.DENY;
      default -> throw new ResourceInvalidException("unknown action " + a.getActionValue());
    };
    List<Authorization.Rule> rules = new ArrayList<>(a.getRulesCount());
    for (var r : a.getRulesList()) {
      List<Authorization.Clause> clauses = new ArrayList<>(r.getClausesCount());
      for (var c : r.getClausesList()) {
        List<Authorization.Match> matches = new ArrayList<>(c.getMatchesCount());
        for (var m : c.getMatchesList()) {
          matches.add(match(m));
        }
        clauses.add(new Authorization.Clause(matches));
      }
      rules.add(new Authorization.Rule(clauses));
    }
    return new Authorization(a.getName(), a.getNamespace(), scope, action, rules, a.getDryRun());
  }

  private static Authorization.Match match(dev.ambient.xds.api.security.Match m) {
    return new Authorization.Match(
        strings(m.getNamespacesList()),
        strings(m.getNotNamespacesList()),
        strings(m.getPrincipalsList()),
        strings(m.getNotPrincipalsList()),
        ips(m.getSourceIpsList()),
        ips(m.getNotSourceIpsList()),
        ips(m.getDestinationIpsList()),
        ips(m.getNotDestinationIpsList()),
        ports(m.getDestinationPortsList()),
        ports(m.getNotDestinationPortsList()),
        accounts(m.getServiceAccountsList()),
        accounts(m.getNotServiceAccountsList()));
  }

  private static List<Authorization.StringMatch> strings(List<StringMatch> in) {
    List<Authorization.StringMatch> out = new ArrayList<>(in.size());
    for (StringMatch s : in) {
      switch (s.getMatchTypeCase()) {
        case EXACT -> out.add(new Authorization.StringMatch.Exact(s.getExact()));
        case PREFIX -> out.add(new Authorization.StringMatch.Prefix(s.getPrefix()));
        case SUFFIX -> out.add(new Authorization.StringMatch.Suffix(s.getSuffix()));
        case PRESENCE -> out.add(new Authorization.StringMatch.Presence());
        case MATCHTYPE_NOT_SET -> { } // dropped, as ztunnel does
      }
    }
    return out;
  }

  private static List<Authorization.IpNet> ips(List<Address> in) {
    List<Authorization.IpNet> out = new ArrayList<>(in.size());
    for (Address a : in) {
      int n = a.getAddress().size();
      if (n != 4 && n != 16) {
        continue; // dropped: bad byte length
      }
      InetAddress ip;
      try {
        ip = InetAddress.getByAddress(a.getAddress().toByteArray());
      } catch (UnknownHostException e) {
        continue;
      }
      int length = CommonParsers.prefix(n, ip, a.getLength());
      if (length < 0 || length > NetworkAddress.maxPrefix(ip)) {
        continue; // dropped: bad prefix
      }
      out.add(new Authorization.IpNet(ip, length));
    }
    return out;
  }

  private static List<Integer> ports(List<Integer> in) {
    List<Integer> out = new ArrayList<>(in.size());
    in.forEach(p -> out.add(CommonParsers.u16(p)));
    return out;
  }

  private static List<Authorization.ServiceAccountMatch> accounts(
      List<dev.ambient.xds.api.security.ServiceAccountMatch> in) {
    List<Authorization.ServiceAccountMatch> out = new ArrayList<>(in.size());
    in.forEach(s -> out.add(new Authorization.ServiceAccountMatch(s.getNamespace(), s.getServiceAccount())));
    return out;
  }
}
