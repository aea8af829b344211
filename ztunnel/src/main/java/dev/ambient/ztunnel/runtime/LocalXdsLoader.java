package dev.ambient.ztunnel.runtime;

import dev.ambient.xds.api.workload.Address;
import dev.ambient.xds.client.AddressResource;
import dev.ambient.xds.client.AddressParser;
import dev.ambient.xds.client.Authorization;
import dev.ambient.xds.client.AuthorizationParser;
import dev.ambient.xds.client.ResourceInvalidException;
import dev.ambient.xds.client.XdsUpdate;
import dev.ambient.xds.config.ConfigException;
import dev.ambient.xds.config.LocalConfig;
import dev.ambient.xds.config.LocalConfigParser;
import dev.ambient.ztunnel.ZtunnelConfig.LocalXds;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Reads {@code LOCAL_XDS_PATH} / {@code LOCAL_XDS} (spec §3.1) into one {@link XdsUpdate}, through
 * the same record conversion as xDS, so a resource the xDS client would reject is rejected here
 * too — as a start-up error naming the file, line and resource.
 */
public final class LocalXdsLoader {
  private LocalXdsLoader() {}

  /** Thrown for a local config that cannot be used; the message names the source and the reason. */
  public static final class LocalXdsException extends Exception {
    public LocalXdsException(String message, Throwable cause) {
      super(message, cause);
    }
  }

  /** The update the local config describes, or empty for {@link LocalXds.None}. */
  public static Optional<XdsUpdate> load(LocalXds source) throws LocalXdsException {
    return switch (source) {
      case LocalXds.None n -> Optional.empty();
      case LocalXds.FromFile f -> {
        String yaml;
        try {
          yaml = Files.readString(Path.of(f.path()));
        } catch (IOException e) {
          throw new LocalXdsException("LOCAL_XDS_PATH " + f.path() + ": cannot read: " + e.getMessage(), e);
        }
        yield Optional.of(parse(f.path(), yaml));
      }
      case LocalXds.Inline i -> Optional.of(parse("LOCAL_XDS", i.yaml()));
    };
  }

  static XdsUpdate parse(String origin, String yaml) throws LocalXdsException {
    LocalConfig config;
    try {
      config = LocalConfigParser.parse(yaml);
    } catch (ConfigException e) {
      throw new LocalXdsException(origin + ":" + e.getMessage(), e);
    }
    Map<String, AddressResource> addresses = new LinkedHashMap<>();
    for (Map.Entry<String, Address> e : config.addresses().entrySet()) {
      try {
        addresses.put(e.getKey(), AddressParser.parse(e.getValue()));
      } catch (ResourceInvalidException ex) {
        throw new LocalXdsException(origin + ": address " + e.getKey() + ": " + ex.getMessage(), ex);
      }
    }
    Map<String, Authorization> policies = new LinkedHashMap<>();
    for (Map.Entry<String, dev.ambient.xds.api.security.Authorization> e : config.policies().entrySet()) {
      try {
        policies.put(e.getKey(), AuthorizationParser.parse(e.getValue()));
      } catch (ResourceInvalidException ex) {
        throw new LocalXdsException(origin + ": policy " + e.getKey() + ": " + ex.getMessage(), ex);
      }
    }
    return new XdsUpdate(addresses, Set.of(), policies, Set.of());
  }
}
