package dev.ambient.cni.plugin;

import dev.ambient.cni.json.Json;
import dev.ambient.cni.json.JsonNumber;
import java.util.LinkedHashMap;
import java.util.Map;

/** A CNI error result ({@code {cniVersion, code, msg, details}}); the plugin exits non-zero with it. */
final class CniError extends Exception {
  /** Well-known CNI error codes (spec "Error" section). */
  static final int INCOMPATIBLE_VERSION = 1;
  static final int INVALID_ENVIRONMENT = 4;
  static final int IO_FAILURE = 5;
  static final int DECODING_FAILURE = 6;
  static final int INVALID_NETWORK_CONFIG = 7;
  /** What Go's skel reports for a plain error, which is how istio-cni fails ADD. */
  static final int INTERNAL = 999;

  private final int code;
  private final String details;

  CniError(int code, String msg, String details) {
    super(msg);
    this.code = code;
    this.details = details;
  }

  CniError(int code, String msg) {
    this(code, msg, "");
  }

  int code() {
    return code;
  }

  String toJson(String cniVersion) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("cniVersion", cniVersion);
    m.put("code", JsonNumber.of(code));
    m.put("msg", getMessage());
    if (!details.isEmpty()) {
      m.put("details", details);
    }
    return Json.write(m);
  }
}
