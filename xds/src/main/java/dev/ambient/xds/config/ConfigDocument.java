package dev.ambient.xds.config;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;

/** One parsed document of a config file: local config or an Istio object, with the line it starts on. */
sealed interface ConfigDocument {
  int line();

  record Local(LocalConfig config, int line) implements ConfigDocument {
    public Local {
      requireNonNull(config, "config");
    }
  }

  record Istio(IstioSchema.IstioObject object, int line) implements ConfigDocument {
    public Istio {
      requireNonNull(object, "object");
    }
  }

  /**
   * Parses every document of a file's text. A document with {@code apiVersion} or {@code kind} is an Istio
   * object; any other mapping is local config; empty documents are skipped.
   *
   * @throws ConfigException for the first bad document
   */
  static List<ConfigDocument> parseAll(String text) {
    List<ConfigDocument> out = new ArrayList<>();
    for (Yaml.Document doc : Yaml.split(text)) {
      JsonNode tree = doc.tree();
      if (tree == null) {
        continue;
      }
      if (!tree.isObject()) {
        throw new ConfigException(doc.firstLine(), 0,
            "a document must be a mapping (local config or an Istio object), found " + tree.getNodeType());
      }
      out.add(IstioObjectParser.isKubernetesObject(tree)
          ? new Istio(IstioObjectParser.parse(doc, tree), doc.firstLine())
          : new Local(LocalConfigParser.parse(doc), doc.firstLine()));
    }
    return List.copyOf(out);
  }
}
