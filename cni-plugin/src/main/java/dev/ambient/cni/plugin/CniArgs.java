package dev.ambient.cni.plugin;

import java.util.LinkedHashMap;
import java.util.Map;

/** The {@code CNI_ARGS} environment value: {@code K8S_POD_NAME=a;K8S_POD_NAMESPACE=b;IgnoreUnknown=1}. */
record CniArgs(Map<String, String> values) {
  static CniArgs parse(String text) throws CniError {
    Map<String, String> m = new LinkedHashMap<>();
    if (!text.isBlank()) {
      for (String pair : text.split(";")) {
        if (pair.isEmpty()) {
          continue;
        }
        int eq = pair.indexOf('=');
        if (eq <= 0) {
          throw new CniError(CniError.INVALID_ENVIRONMENT, "invalid CNI_ARGS pair '" + pair + "'");
        }
        m.put(pair.substring(0, eq), pair.substring(eq + 1));
      }
    }
    return new CniArgs(Map.copyOf(m));
  }

  String podName() {
    return values.getOrDefault("K8S_POD_NAME", "");
  }

  String podNamespace() {
    return values.getOrDefault("K8S_POD_NAMESPACE", "");
  }
}
