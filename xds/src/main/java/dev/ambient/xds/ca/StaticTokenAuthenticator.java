package dev.ambient.xds.ca;

import static java.util.Objects.requireNonNull;

import dev.ambient.identity.InvalidSpiffeIdException;
import dev.ambient.identity.SpiffeId;
import io.grpc.Metadata;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Fixed bearer tokens, each naming a caller: for the standalone control plane and tests, where
 * there is no Kubernetes TokenReview.
 *
 * <h2>Token file format ({@link #fromFile})</h2>
 * UTF-8 text, one token per line: {@code <token> <spiffe-id> [node-proxy]}, separated by
 * whitespace. The optional third word {@code node-proxy} lets the caller request certificates for
 * other identities ({@code ImpersonatedIdentity}, like ztunnel). Blank lines and lines starting with
 * {@code #} are ignored. Tokens must be unique and contain no whitespace.
 *
 * <pre>
 * # token                            identity                                        flags
 * 3q2+7w-ztunnel-node-a              spiffe://cluster.local/ns/istio-system/sa/ztunnel  node-proxy
 * s3cr3t-client                      spiffe://cluster.local/ns/default/sa/client
 * </pre>
 *
 * <p>Tokens are compared in constant time. Thread-safe and immutable.
 */
public final class StaticTokenAuthenticator implements CallerAuthenticator {
  public static final String NODE_PROXY_FLAG = "node-proxy";

  private final Map<String, Caller> callers;

  private StaticTokenAuthenticator(Map<String, Caller> callers) {
    this.callers = Map.copyOf(callers);
  }

  /** Token → caller. */
  public static StaticTokenAuthenticator of(Map<String, Caller> callers) {
    requireNonNull(callers, "callers");
    callers.keySet().forEach(t -> {
      if (t.isBlank() || t.chars().anyMatch(Character::isWhitespace)) {
        throw new IllegalArgumentException("a token must be non-empty and contain no whitespace");
      }
    });
    return new StaticTokenAuthenticator(callers);
  }

  /**
   * Reads the token file (format in the class javadoc).
   *
   * @throws IllegalStateException with the file and line number of a malformed entry
   */
  public static StaticTokenAuthenticator fromFile(Path file) {
    requireNonNull(file, "file");
    List<String> lines;
    try {
      lines = Files.readAllLines(file, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new IllegalStateException("cannot read the CA token file " + file + ": " + e.getMessage(), e);
    }
    Map<String, Caller> callers = new LinkedHashMap<>();
    for (int i = 0; i < lines.size(); i++) {
      String line = lines.get(i).strip();
      if (line.isEmpty() || line.startsWith("#")) {
        continue;
      }
      String where = file + ":" + (i + 1) + ": ";
      String[] words = line.split("\\s+");
      if (words.length < 2 || words.length > 3 || (words.length == 3 && !words[2].equals(NODE_PROXY_FLAG))) {
        throw new IllegalStateException(where + "expected '<token> <spiffe-id> [" + NODE_PROXY_FLAG + "]'");
      }
      SpiffeId id;
      try {
        id = SpiffeId.parse(words[1]);
      } catch (InvalidSpiffeIdException e) {
        throw new IllegalStateException(where + e.getMessage(), e);
      }
      if (callers.put(words[0], new Caller(id, words.length == 3)) != null) {
        throw new IllegalStateException(where + "duplicate token");
      }
    }
    return new StaticTokenAuthenticator(callers);
  }

  @Override
  public Caller authenticate(Metadata headers) {
    String token = CallerAuthenticator.requireBearerToken(headers);
    byte[] presented = token.getBytes(StandardCharsets.UTF_8);
    Caller found = null;
    for (Map.Entry<String, Caller> e : callers.entrySet()) {
      // No early exit: every token is compared, in constant time.
      if (MessageDigest.isEqual(presented, e.getKey().getBytes(StandardCharsets.UTF_8))) {
        found = e.getValue();
      }
    }
    if (found == null) {
      throw new CaException(CaException.Reason.UNAUTHENTICATED,
          "authentication failure: the bearer token is not known to this CA");
    }
    return found;
  }

  @Override
  public String toString() {
    return "StaticTokenAuthenticator{" + callers.size() + " tokens}";
  }
}
