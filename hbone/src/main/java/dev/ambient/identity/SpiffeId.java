package dev.ambient.identity;

import static java.util.Objects.requireNonNull;

import java.util.Optional;

/**
 * A workload identity in Istio's SPIFFE form: {@code spiffe://<trust-domain>/ns/<namespace>/sa/<service-account>}.
 *
 * <p>Parsing follows ztunnel (spec §8.1): the {@code spiffe://} prefix, then exactly the four path
 * segments {@code ns}, namespace, {@code sa}, service account. Anything else is not an identity.
 * {@link #toString()} gives the canonical URI, so an id can be logged and compared as text.
 */
public record SpiffeId(String trustDomain, String namespace, String serviceAccount) {
  public static final String SCHEME_PREFIX = "spiffe://";
  /** Istio's default trust domain. */
  public static final String DEFAULT_TRUST_DOMAIN = "cluster.local";

  public SpiffeId {
    requireNonNull(trustDomain, "trustDomain");
    requireNonNull(namespace, "namespace");
    requireNonNull(serviceAccount, "serviceAccount");
    checkSegment("trust domain", trustDomain);
    checkSegment("namespace", namespace);
    checkSegment("service account", serviceAccount);
  }

  public static SpiffeId of(String trustDomain, String namespace, String serviceAccount) {
    return new SpiffeId(trustDomain, namespace, serviceAccount);
  }

  /**
   * Parses a SPIFFE URI.
   *
   * @throws InvalidSpiffeIdException with the reason when {@code uri} is not an Istio SPIFFE id
   */
  public static SpiffeId parse(String uri) {
    requireNonNull(uri, "uri");
    if (!uri.startsWith(SCHEME_PREFIX)) {
      throw new InvalidSpiffeIdException(uri, "must start with " + SCHEME_PREFIX);
    }
    String[] parts = uri.substring(SCHEME_PREFIX.length()).split("/", -1);
    if (parts.length != 5) {
      throw new InvalidSpiffeIdException(
          uri, "expected <trust-domain>/ns/<namespace>/sa/<service-account>, found " + parts.length + " segments");
    }
    if (!parts[1].equals("ns")) {
      throw new InvalidSpiffeIdException(uri, "second segment must be 'ns', found '" + parts[1] + "'");
    }
    if (!parts[3].equals("sa")) {
      throw new InvalidSpiffeIdException(uri, "fourth segment must be 'sa', found '" + parts[3] + "'");
    }
    try {
      return new SpiffeId(parts[0], parts[2], parts[4]);
    } catch (IllegalArgumentException e) {
      throw new InvalidSpiffeIdException(uri, e.getMessage());
    }
  }

  /** Parses a URI, or returns empty when it is not an Istio SPIFFE id (for scanning SANs). */
  public static Optional<SpiffeId> tryParse(String uri) {
    try {
      return Optional.of(parse(uri));
    } catch (InvalidSpiffeIdException e) {
      return Optional.empty();
    }
  }

  /** The canonical URI form. */
  @Override
  public String toString() {
    return SCHEME_PREFIX + trustDomain + "/ns/" + namespace + "/sa/" + serviceAccount;
  }

  private static void checkSegment(String what, String value) {
    if (value.isEmpty()) {
      throw new IllegalArgumentException(what + " must not be empty");
    }
    for (int i = 0; i < value.length(); i++) {
      char c = value.charAt(i);
      if (c == '/' || Character.isWhitespace(c) || Character.isISOControl(c)) {
        throw new IllegalArgumentException(what + " '" + value + "' contains an illegal character at " + i);
      }
    }
  }
}
