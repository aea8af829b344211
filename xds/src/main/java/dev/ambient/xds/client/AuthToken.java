package dev.ambient.xds.client;

import static java.util.Objects.requireNonNull;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.Optional;

/** Where the bearer token sent to istiod comes from. */
public sealed interface AuthToken {
  /** The token to send now, if any. A file is re-read on every call (tokens are rotated). */
  Optional<String> read() throws IOException;

  /** Send no {@code authorization} header. */
  record None() implements AuthToken {
    @Override
    public Optional<String> read() {
      return Optional.empty();
    }
  }

  /** A fixed token. */
  record Literal(String token) implements AuthToken {
    public Literal {
      requireNonNull(token, "token");
    }

    @Override
    public Optional<String> read() {
      return Optional.of(token);
    }
  }

  /** A JWT file (e.g. the projected service-account token), re-read each time. */
  record FromFile(Path path) implements AuthToken {
    public FromFile {
      requireNonNull(path, "path");
    }

    @Override
    public Optional<String> read() throws IOException {
      return Optional.of(Files.readString(path, StandardCharsets.UTF_8).strip());
    }
  }

  /** {@code AUTH_TOKEN} semantics: an existing file path, else the value itself is the token. */
  static AuthToken fromSetting(String value) {
    try {
      Path p = Path.of(value);
      if (Files.isRegularFile(p)) {
        return new FromFile(p);
      }
    } catch (InvalidPathException e) {
      // not a path: a literal token
    }
    return new Literal(value);
  }
}
