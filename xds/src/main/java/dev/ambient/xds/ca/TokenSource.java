package dev.ambient.xds.ca;

import static java.util.Objects.requireNonNull;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import org.jspecify.annotations.Nullable;

/**
 * Where the bearer token for the CA (and xDS) comes from (spec ztunnel §8.4, {@code AUTH_TOKEN}).
 */
public sealed interface TokenSource {
  /** ztunnel's default projected token path (audience {@code istio-ca} in Istio's chart). */
  Path DEFAULT_TOKEN_PATH = Path.of("./var/run/secrets/tokens/istio-token");

  /** No {@code authorization} header at all. */
  record None() implements TokenSource {}

  /** A fixed token. */
  record Literal(String token) implements TokenSource {
    public Literal {
      requireNonNull(token, "token");
      if (token.isBlank()) {
        throw new IllegalArgumentException("a literal token must not be blank");
      }
    }

    @Override
    public String toString() {
      return "Literal[<redacted>]";
    }
  }

  /** A file re-read on every request (Kubernetes rotates projected tokens in place). */
  record File(Path path) implements TokenSource {
    public File {
      requireNonNull(path, "path");
    }
  }

  /**
   * ztunnel's rule for {@code AUTH_TOKEN}: unset means {@code defaultPath} when it exists, else no
   * token; an existing path means that file; anything else is the token itself.
   */
  static TokenSource fromAuthToken(@Nullable String authToken, Path defaultPath) {
    requireNonNull(defaultPath, "defaultPath");
    if (authToken == null || authToken.isEmpty()) {
      return Files.exists(defaultPath) ? new File(defaultPath) : new None();
    }
    Path asPath;
    try {
      asPath = Path.of(authToken);
    } catch (RuntimeException e) {
      return new Literal(authToken);
    }
    return Files.isRegularFile(asPath) ? new File(asPath) : new Literal(authToken);
  }

  /**
   * The token to send now, if any.
   *
   * @throws CaException with {@link CaException.Reason#TOKEN} when the file cannot be read or is empty
   */
  default Optional<String> currentToken() {
    return switch (this) {
      case None n -> Optional.empty();
      case Literal l -> Optional.of(l.token());
      case File f -> {
        String token;
        try {
          token = Files.readString(f.path(), StandardCharsets.UTF_8).strip();
        } catch (IOException e) {
          throw new CaException(CaException.Reason.TOKEN, "cannot read the token file " + f.path() + ": " + e, e);
        }
        if (token.isEmpty()) {
          throw new CaException(CaException.Reason.TOKEN, "the token file " + f.path() + " is empty");
        }
        yield Optional.of(token);
      }
    };
  }
}
