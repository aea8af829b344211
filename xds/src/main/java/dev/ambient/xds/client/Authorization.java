package dev.ambient.xds.client;

import static java.util.Objects.requireNonNull;

import java.net.InetAddress;
import java.util.List;

/**
 * An L4 authorization policy, validated. Rules are OR-ed; a rule's clauses are AND-ed; a clause's
 * matches are OR-ed; within a match, values of one field are OR-ed and non-empty fields AND-ed.
 * Immutable; built by {@link AuthorizationParser}.
 */
public record Authorization(
    String name, String namespace, Scope scope, Action action, List<Rule> rules, boolean dryRun) {

  /** Which workloads a policy applies to. */
  public enum Scope { GLOBAL, NAMESPACE, WORKLOAD_SELECTOR }

  /** What a match does. */
  public enum Action { ALLOW, DENY }

  public Authorization {
    requireNonNull(name, "name");
    requireNonNull(namespace, "namespace");
    requireNonNull(scope, "scope");
    requireNonNull(action, "action");
    rules = List.copyOf(rules);
  }

  /** {@code namespace/name}: the xDS resource name, and how workloads refer to the policy. */
  public String key() {
    return namespace + "/" + name;
  }

  /** Clauses, AND-ed. */
  public record Rule(List<Clause> clauses) {
    public Rule {
      clauses = List.copyOf(clauses);
    }
  }

  /** Matches, OR-ed. */
  public record Clause(List<Match> matches) {
    public Clause {
      matches = List.copyOf(matches);
    }
  }

  /** One match: every non-empty field must match; values within a field are OR-ed. */
  public record Match(
      List<StringMatch> namespaces,
      List<StringMatch> notNamespaces,
      List<StringMatch> principals,
      List<StringMatch> notPrincipals,
      List<IpNet> sourceIps,
      List<IpNet> notSourceIps,
      List<IpNet> destinationIps,
      List<IpNet> notDestinationIps,
      List<Integer> destinationPorts,
      List<Integer> notDestinationPorts,
      List<ServiceAccountMatch> serviceAccounts,
      List<ServiceAccountMatch> notServiceAccounts) {
    public Match {
      namespaces = List.copyOf(namespaces);
      notNamespaces = List.copyOf(notNamespaces);
      principals = List.copyOf(principals);
      notPrincipals = List.copyOf(notPrincipals);
      sourceIps = List.copyOf(sourceIps);
      notSourceIps = List.copyOf(notSourceIps);
      destinationIps = List.copyOf(destinationIps);
      notDestinationIps = List.copyOf(notDestinationIps);
      destinationPorts = List.copyOf(destinationPorts);
      notDestinationPorts = List.copyOf(notDestinationPorts);
      serviceAccounts = List.copyOf(serviceAccounts);
      notServiceAccounts = List.copyOf(notServiceAccounts);
    }
  }

  /** An address or CIDR range. */
  public record IpNet(InetAddress address, int prefixLength) {
    public IpNet {
      requireNonNull(address, "address");
      if (prefixLength < 0 || prefixLength > NetworkAddress.maxPrefix(address)) {
        throw new IllegalArgumentException("prefix length " + prefixLength + " out of range for " + address);
      }
    }
  }

  /** A service account in a namespace. */
  public record ServiceAccountMatch(String namespace, String serviceAccount) {
    public ServiceAccountMatch {
      requireNonNull(namespace, "namespace");
      requireNonNull(serviceAccount, "serviceAccount");
    }
  }

  /** A string matcher; {@code Presence} matches any non-empty value. */
  public sealed interface StringMatch {
    /** Equal to the value. */
    record Exact(String value) implements StringMatch {
      public Exact {
        requireNonNull(value, "value");
      }
    }

    /** Starts with the value. */
    record Prefix(String value) implements StringMatch {
      public Prefix {
        requireNonNull(value, "value");
      }
    }

    /** Ends with the value. */
    record Suffix(String value) implements StringMatch {
      public Suffix {
        requireNonNull(value, "value");
      }
    }

    /** Present at all (a CRD {@code *}). */
    record Presence() implements StringMatch {}
  }
}
