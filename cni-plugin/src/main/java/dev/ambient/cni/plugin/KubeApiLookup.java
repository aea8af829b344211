package dev.ambient.cni.plugin;

import dev.ambient.cni.agent.PodInfo;
import dev.ambient.cni.json.Json;
import dev.ambient.cni.json.JsonException;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.jspecify.annotations.Nullable;

/**
 * Reads the pod and namespace from the API server with the kubeconfig the agent writes for the
 * plugin ({@code <run dir>/istio-cni-kubeconfig}: one cluster with {@code server} and
 * {@code certificate-authority-data}, one user with {@code token}). Both GETs go over one
 * {@link ApiConnection} (plain HTTP, or TLS trusting only that CA), opened per lookup.
 */
final class KubeApiLookup implements PodLookup {
  static final int TIMEOUT_MILLIS = 5_000;

  private final String host;
  private final int port;
  private final String basePath;
  private final @Nullable SSLContext tls;
  private final @Nullable String token;

  private KubeApiLookup(String host, int port, String basePath, @Nullable SSLContext tls, @Nullable String token) {
    this.host = host;
    this.port = port;
    this.basePath = basePath;
    this.tls = tls;
    this.token = token;
  }

  static KubeApiLookup fromKubeconfig(Path kubeconfig) throws IOException {
    Map<String, String> kv = scalars(Files.readString(kubeconfig));
    String server = kv.get("server");
    if (server == null) {
      throw new IOException(kubeconfig + " names no cluster server");
    }
    URI uri;
    try {
      uri = new URI(server);
    } catch (java.net.URISyntaxException e) {
      throw new IOException("bad server '" + server + "' in " + kubeconfig + ": " + e.getMessage(), e);
    }
    String scheme = uri.getScheme() == null ? "" : uri.getScheme();
    String host = uri.getHost();
    if (!(scheme.equals("http") || scheme.equals("https")) || host == null) {
      throw new IOException("server '" + server + "' in " + kubeconfig + " is not an http(s)://host[:port] URL");
    }
    if (host.startsWith("[") && host.endsWith("]")) {
      host = host.substring(1, host.length() - 1);
    }
    boolean https = scheme.equals("https");
    SSLContext tls = null;
    if (https) {
      String ca = kv.get("certificate-authority-data");
      try {
        tls = ca == null ? SSLContext.getDefault() : trusting(Base64.getMimeDecoder().decode(ca));
      } catch (GeneralSecurityException | IllegalArgumentException e) {
        throw new IOException("bad certificate-authority-data in " + kubeconfig + ": " + e.getMessage(), e);
      }
    }
    String path = uri.getRawPath() == null ? "" : uri.getRawPath();
    return new KubeApiLookup(host, uri.getPort() > 0 ? uri.getPort() : https ? 443 : 80,
        path.endsWith("/") ? path : path + "/", tls, kv.get("token"));
  }

  /** The first value of each {@code key: value} line (enough for the flat kubeconfig we write). */
  static Map<String, String> scalars(String yaml) {
    Map<String, String> out = new LinkedHashMap<>();
    for (String line : yaml.split("\n")) {
      String t = line.strip();
      if (t.startsWith("- ")) {
        t = t.substring(2).strip();
      }
      int colon = t.indexOf(": ");
      if (colon <= 0 || t.startsWith("#")) {
        continue;
      }
      String v = t.substring(colon + 2).strip();
      if (v.length() >= 2 && (v.startsWith("\"") && v.endsWith("\"") || v.startsWith("'") && v.endsWith("'"))) {
        v = v.substring(1, v.length() - 1);
      }
      out.putIfAbsent(t.substring(0, colon), v);
    }
    return out;
  }

  private static SSLContext trusting(byte[] pem) throws GeneralSecurityException, IOException {
    KeyStore ks = KeyStore.getInstance(KeyStore.getDefaultType());
    ks.load(null, null);
    int i = 0;
    for (Certificate c : CertificateFactory.getInstance("X.509").generateCertificates(new ByteArrayInputStream(pem))) {
      ks.setCertificateEntry("ca-" + i++, c);
    }
    TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(ks);
    SSLContext ctx = SSLContext.getInstance("TLS");
    ctx.init(null, tmf.getTrustManagers(), null);
    return ctx;
  }

  @Override
  public Facts lookup(String namespace, String name) throws IOException, InterruptedException {
    String ns = URLEncoder.encode(namespace, StandardCharsets.UTF_8);
    Map<String, Object> pod;
    Map<String, Object> nsObj;
    try (ApiConnection c = new ApiConnection(host, port, tls, TIMEOUT_MILLIS)) {
      pod = get(c, "api/v1/namespaces/" + ns + "/pods/" + URLEncoder.encode(name, StandardCharsets.UTF_8));
      nsObj = get(c, "api/v1/namespaces/" + ns);
    }
    Map<String, Object> meta = metadata(pod);
    Map<String, Object> spec = Json.object(pod, "spec");
    List<String> containers = new ArrayList<>();
    if (spec != null) {
      for (Object c : Json.list(spec, "containers")) {
        if (c instanceof Map<?, ?> cm && Json.string(Json.asObject(cm), "name") instanceof String n) {
          containers.add(n);
        }
      }
    }
    PodInfo info = new PodInfo(namespace, name, strings(meta, "labels"), strings(meta, "annotations"),
        spec != null && Json.bool(spec, "hostNetwork", false), containers);
    return new Facts(info, strings(metadata(nsObj), "labels"));
  }

  private Map<String, Object> get(ApiConnection c, String path) throws IOException {
    ApiConnection.Response resp = c.get(basePath + path, token);
    if (resp.status() != 200) {
      throw new IOException("GET " + basePath + path + " answered " + resp.status());
    }
    try {
      return Json.parseObject(resp.text());
    } catch (JsonException e) {
      throw new IOException("GET " + basePath + path + ": " + e.getMessage(), e);
    }
  }

  private static Map<String, Object> metadata(Map<String, Object> obj) {
    Map<String, Object> m = Json.object(obj, "metadata");
    return m == null ? Map.of() : m;
  }

  private static Map<String, String> strings(Map<String, Object> m, String key) {
    Map<String, String> out = new LinkedHashMap<>();
    Map<String, Object> o = Json.object(m, key);
    if (o != null) {
      o.forEach((k, v) -> {
        if (v instanceof String s) {
          out.put(k, s);
        }
      });
    }
    return out;
  }
}
