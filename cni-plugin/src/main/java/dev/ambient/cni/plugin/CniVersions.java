package dev.ambient.cni.plugin;

import dev.ambient.cni.json.Json;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The CNI spec versions the plugin accepts and the conversion of a chained result to the version of
 * the config it was called with (1.0 dropped the per-IP {@code version} field that 0.3/0.4 require).
 */
final class CniVersions {
  static final String LATEST = "1.0.0";
  static final List<String> SUPPORTED = List.of("0.3.0", "0.3.1", "0.4.0", "1.0.0");

  private CniVersions() {}

  static boolean supported(String version) {
    return SUPPORTED.contains(version);
  }

  static boolean hasIpVersionField(String version) {
    return version.startsWith("0.3.") || version.equals("0.4.0");
  }

  /**
   * The result to print: {@code prevResult} unchanged except for {@code cniVersion} and, across the
   * 0.4/1.0 boundary, the per-IP {@code version} field. Without a prevResult, an empty result.
   */
  static Map<String, Object> resultFor(Map<String, Object> prevResult, String configVersion) {
    Map<String, Object> out = new LinkedHashMap<>(prevResult);
    out.put("cniVersion", configVersion);
    if (out.get("ips") instanceof List<?> ips) {
      List<Object> converted = new ArrayList<>();
      for (Object o : ips) {
        if (!(o instanceof Map<?, ?>)) {
          converted.add(o);
          continue;
        }
        Map<String, Object> ip = new LinkedHashMap<>(Json.asObject(o));
        if (hasIpVersionField(configVersion)) {
          if (!ip.containsKey("version") && Json.string(ip, "address") instanceof String a) {
            ip.put("version", a.indexOf(':') >= 0 ? "6" : "4");
          }
        } else {
          ip.remove("version");
        }
        converted.add(ip);
      }
      out.put("ips", converted);
    }
    return out;
  }
}
