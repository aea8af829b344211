package dev.ambient.xds.config;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.Message;
import com.google.protobuf.TextFormat;
import dev.ambient.xds.config.IstioSchema.IstioObject;
import java.util.ArrayList;
import java.util.List;

/** Builds Istio objects from YAML text, and protos from text format, for the translation tests. */
final class IstioTestObjects {
  private IstioTestObjects() {}

  static List<IstioObject> objects(String yaml) {
    List<IstioObject> out = new ArrayList<>();
    for (Yaml.Document d : Yaml.split(yaml)) {
      var tree = d.tree();
      if (tree != null) {
        out.add(IstioObjectParser.parse(d, tree));
      }
    }
    return out;
  }

  static IstioSchema.AuthorizationPolicy authorizationPolicy(String namespace, String specYaml) {
    String indented = specYaml.strip().indent(2);
    List<IstioObject> o = objects("""
        apiVersion: security.istio.io/v1
        kind: AuthorizationPolicy
        metadata: {name: p, namespace: %s}
        spec:
        %s""".formatted(namespace, indented));
    assertThat(o).hasSize(1);
    return (IstioSchema.AuthorizationPolicy) o.get(0);
  }

  @SuppressWarnings("unchecked")
  static <T extends Message> T proto(Message.Builder builder, String text) {
    try {
      TextFormat.merge(text, builder);
    } catch (TextFormat.ParseException e) {
      throw new AssertionError("bad expected text: " + e.getMessage(), e);
    }
    return (T) builder.build();
  }
}
