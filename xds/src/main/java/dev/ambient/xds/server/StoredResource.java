package dev.ambient.xds.server;

import static java.util.Objects.requireNonNull;

import com.google.protobuf.Any;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;

/**
 * One resource as served: primary name, content version, payload and aliases.
 *
 * <p>The version is a hash of the payload and the aliases, so it is the same for the same content
 * across control-plane restarts: a client reconnecting with {@code initial_resource_versions} to a
 * restarted control plane is sent nothing it already has.
 */
public record StoredResource(String name, String version, Any resource, List<String> aliases) {
  public StoredResource {
    requireNonNull(name, "name");
    requireNonNull(version, "version");
    requireNonNull(resource, "resource");
    aliases = List.copyOf(aliases);
  }

  /** A resource whose version is derived from its content. */
  public static StoredResource of(String name, Any resource, List<String> aliases) {
    return new StoredResource(name, contentVersion(resource, aliases), resource, aliases);
  }

  static String contentVersion(Any resource, List<String> aliases) {
    try {
      MessageDigest sha = MessageDigest.getInstance("SHA-256");
      sha.update(resource.getTypeUrlBytes().toByteArray());
      sha.update((byte) 0);
      sha.update(resource.getValue().toByteArray());
      for (String alias : aliases) {
        sha.update((byte) 0);
        sha.update(alias.getBytes(StandardCharsets.UTF_8));
      }
      return HexFormat.of().formatHex(sha.digest(), 0, 8);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is mandatory in every JDK", e);
    }
  }
}
