package dev.ambient.xds.config;

import com.fasterxml.jackson.databind.JsonNode;
import dev.ambient.xds.config.IstioSchema.IstioObject;
import org.jspecify.annotations.Nullable;

/** Recognises and binds Kubernetes-style Istio security documents. */
final class IstioObjectParser {
  private IstioObjectParser() {}

  /** True when the document has {@code apiVersion} or {@code kind} (a Kubernetes object, not local config). */
  static boolean isKubernetesObject(JsonNode tree) {
    return tree.isObject() && (tree.has("apiVersion") || tree.has("kind"));
  }

  static IstioObject parse(Yaml.Document doc, JsonNode tree) {
    String apiVersion = text(tree.get("apiVersion"));
    String kind = text(tree.get("kind"));
    if (!IstioSchema.API_VERSIONS.contains(apiVersion)) {
      throw new ConfigException(doc.firstLine(), 0, "unsupported apiVersion '" + apiVersion + "' (expected one of "
          + String.join(", ", IstioSchema.API_VERSIONS) + ")");
    }
    return switch (kind) {
      case "AuthorizationPolicy" -> doc.bind(IstioSchema.AuthorizationPolicy.class);
      case "PeerAuthentication" -> doc.bind(IstioSchema.PeerAuthentication.class);
      default -> throw new ConfigException(doc.firstLine(), 0,
          "unsupported kind '" + kind + "' (expected AuthorizationPolicy or PeerAuthentication)");
    };
  }

  private static String text(@Nullable JsonNode node) {
    return node == null || !node.isTextual() ? "" : node.asText();
  }
}
