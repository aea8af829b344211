package dev.ambient.cni.plugin;

import dev.ambient.cni.agent.PodInfo;
import dev.ambient.cni.json.Json;
import dev.ambient.cni.json.JsonException;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.time.Duration;
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
 * {@code certificate-authority-data}, one user with {@code token}). Uses the JDK's HTTP client, loaded
 * only for pods that need the lookup.
 */
final class KubeApiLookup implements PodLookup {
  private static final Duration TIMEOUT = Duration.ofSeconds(5);

  private final URI server;
  private final @Nullable String token;
  private final HttpClient client;

  private KubeApiLookup(URI server, @Nullable String token, HttpClient client) {
    this.server = server;
    this.token = token;
    this.client = client;
  }

  static KubeApiLookup fromKubeconfig(Path kubeconfig) throws IOException {
    Map<String, String> kv = scalars(Files.readString(kubeconfig));
    String server = kv.get("server");
    if (server == null) {
      throw new IOException(kubeconfig + " names no cluster server");
    }
    HttpClient.Builder b = HttpClient.newBuilder().connectTimeout(TIMEOUT);
    String ca = kv.get("certificate-authority-data");
    if (ca != null && server.startsWith("https:")) {
      try {
        b.sslContext(trusting(Base64.getMimeDecoder().decode(ca)));
      } catch (GeneralSecurityException | IllegalArgumentException e) {
        throw new IOException("bad certificate-authority-data in " + kubeconfig + ": " + e.getMessage(), e);
      }
    }
    return new KubeApiLookup(URI.create(server.endsWith("/") ? server : server + "/"), kv.get("token"), b.build());
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
    Map<String, Object> pod = get("api/v1/namespaces/" + ns + "/pods/" + URLEncoder.encode(name, StandardCharsets.UTF_8));
    Map<String, Object> nsObj = get("api/v1/namespaces/" + ns);
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

  private Map<String, Object> get(String path) throws IOException, InterruptedException {
    HttpRequest.Builder r = HttpRequest.newBuilder(server.resolve(path)).timeout(TIMEOUT)
        .header("Accept", "application/json").GET();
    if (token != null && !token.isEmpty()) {
      r.header("Authorization", "Bearer " + token);
    }
    HttpResponse<String> resp = client.send(r.build(), HttpResponse.BodyHandlers.ofString());
    if (resp.statusCode() != 200) {
      throw new IOException("GET /" + path + " answered " + resp.statusCode());
    }
    try {
      return Json.parseObject(resp.body());
    } catch (JsonException e) {
      throw new IOException("GET /" + path + ": " + e.getMessage(), e);
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
